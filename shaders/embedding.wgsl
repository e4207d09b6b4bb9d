// Token embedding: a gather forward, and a deterministic segmented scatter-add backward.
// Letters: N tokens (rows of ids), V vocab, C channels.
//
// embedding_forward: out[t, :] = W[ids[t], :] for the tokens whose id falls in this dispatch's
//   vocab range [v0, v1) (W may be split over several bindings: one dispatch per range). When the
//   range ends at V, tokens with an id >= V get a row of zeros (ids come from the GPU, so the host
//   cannot reject them up front).
//   Bindings: 0 params; 1 ids u32 [N]; 2 w [v1 - v0, C] (rows v0..v1 of W); 3 w4 (vec4 view of 2,
//   used when V4); 4 out [N, C] (read_write).
//   Grid: LPR lanes per token, WG / LPR tokens per workgroup (1-D count ceil(N·LPR / WG), folded);
//   a token's lanes stride over its columns. CPU adapters: LPR = 1 (a row per invocation: lavapipe
//   pays per invocation, not per loop iteration); GPUs: LPR = WG = 64.
//
// embedding_backward: dW[v, :] += sum of dout[t, :] over the tokens t with ids[t] == v.
//   No float atomics: the host sorts the token positions by id (src/kernels/embedding.ts) and
//   uploads a plan of segments, one per distinct id. One workgroup per (segment, column block)
//   sums its segment's rows in ascending position order and adds the sum into dW once, so every
//   run adds the same numbers in the same order.
//   Bindings: 0 params; 1 plan u32 [S + 1 + S + N] = segStart[S + 1], segToken[S], order[N]
//   (order: token positions sorted by id, then by position; segment s is order[segStart[s] ..
//   segStart[s + 1]) and holds token id segToken[s]); 2 dout [N, C]; 3 dout4 (vec4 view of 2,
//   used when V4); 4 dw [v1 - v0, C] (rows v0..v1 of dW, read_write).
//   This dispatch handles segments segBase .. segBase + segCount, whose ids lie in [v0, v1).
//   Grid: segCount · nCb workgroups (1-D, folded), nCb = ceil(C / cb) column blocks of cb columns
//   (a multiple of 16·WG with V4, else of 4·WG). CPU adapters: one block of all C columns (a
//   workgroup per segment: lavapipe pays per workgroup); GPUs: blocks of 16·WG or 4·WG columns.
//
// V4: C % 4 == 0, so rows start on vec4 boundaries and loads can be vec4. Stores are scalar.
// WG: invocations per workgroup (8 on CPU adapters: one lavapipe subgroup; 64 on GPUs).

struct Params { N: u32, C: u32, v0: u32, v1: u32, V: u32, S: u32, segBase: u32, segCount: u32, nCb: u32, cb: u32 }

override WG: u32 = 8u;
override LPR: u32 = 1u;
override V4: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(1) var<storage, read> plan: array<u32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> w4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> dout: array<f32>;
@group(0) @binding(3) var<storage, read> dout4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;

fn linear_wg(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
}

@compute @workgroup_size(WG)
fn embedding_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let t = linear_wg(wid, nwg) * (WG / LPR) + lid / LPR;
  let lane = lid % LPR;
  if (t >= p.N) { return; }
  let id = ids[t];
  let o = t * p.C;
  if (id >= p.v0 && id < p.v1) {
    let r = (id - p.v0) * p.C;
    if (V4) {
      for (var c = lane * 4u; c < p.C; c += LPR * 4u) {
        let v = w4[(r + c) >> 2u];
        out[o + c] = v.x; out[o + c + 1u] = v.y; out[o + c + 2u] = v.z; out[o + c + 3u] = v.w;
      }
    } else {
      for (var c = lane; c < p.C; c += LPR) { out[o + c] = w[r + c]; }
    }
  } else if (id >= p.V && p.v1 == p.V) {
    for (var c = lane; c < p.C; c += LPR) { out[o + c] = 0.0; }
  }
}

@compute @workgroup_size(WG)
fn embedding_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) lid: u32) {
  let g = linear_wg(wid, nwg);
  if (g >= p.segCount * p.nCb) { return; }
  let s = p.segBase + g / p.nCb;
  let c0 = (g % p.nCb) * p.cb;
  let begin = plan[s];
  let end = plan[s + 1u];
  let row = (plan[p.S + 1u + s] - p.v0) * p.C;
  let order0 = 2u * p.S + 1u;
  let c1 = min(c0 + p.cb, p.C);
  // Each lane keeps 4 accumulators (4 vec4 with V4), so one position load from the plan serves
  // 4 row loads; a pass covers 16·WG columns (V4) or 4·WG, and the block takes c1 − c0 columns.
  // The accumulators are zeroed explicitly: on Dawn + lavapipe a `var` declared in a loop without
  // an initializer keeps its value from the previous iteration (WGSL says zero).
  if (V4) {
    for (var cp = c0; cp < c1; cp += 16u * WG) {
      var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
      for (var k = begin; k < end; k++) {
        let base = plan[order0 + k] * p.C;
        for (var j = 0u; j < 4u; j++) {
          let c = cp + (j * WG + lid) * 4u;
          if (c < c1) { acc[j] += dout4[(base + c) >> 2u]; }
        }
      }
      for (var j = 0u; j < 4u; j++) {
        let c = cp + (j * WG + lid) * 4u;
        if (c < c1) {
          dw[row + c] += acc[j].x; dw[row + c + 1u] += acc[j].y;
          dw[row + c + 2u] += acc[j].z; dw[row + c + 3u] += acc[j].w;
        }
      }
    }
  } else {
    for (var cp = c0; cp < c1; cp += 4u * WG) {
      var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
      for (var k = begin; k < end; k++) {
        let base = plan[order0 + k] * p.C;
        for (var j = 0u; j < 4u; j++) {
          let c = cp + j * WG + lid;
          if (c < c1) { acc[j] += dout[base + c]; }
        }
      }
      for (var j = 0u; j < 4u; j++) {
        let c = cp + j * WG + lid;
        if (c < c1) { dw[row + c] += acc[j]; }
      }
    }
  }
}
