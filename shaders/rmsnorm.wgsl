// RMSNorm (Qwen2, as in Hugging Face's Qwen2RMSNorm, computed in float32):
//   y = x · rstd · w,  rstd = 1 / sqrt(mean(x²) + eps), over the last dimension.
// Backward (s = Σ_j dy_j·w_j·x_j over the row):
//   dx_i = rstd·w_i·dy_i − rstd³·x_i·s / C,   dw_j = Σ_rows dy_j·x_j·rstd.
// Letters: N rows, C channels.
//
// Bindings (each entry uses the ones it names): 0 params; 1 x [N, C]; 2 x4 (vec4 view of 1);
// 3 w [C]; 4 dy [N, C]; 5 dy4 (vec4 view of 4); 6 rstd [N] (written by the forward);
// 7 out [N, C]: y (forward) or dx (backward); 8 partial [nb, C]; 9 dw [C].
//
// rmsnorm_forward (x, w -> out = y, rstd), rmsnorm_backward (x, w, dy, rstd -> out = dx, or
//   dx += with ACC): LPR lanes per row, WG / LPR rows per workgroup (1-D count ceil(N·LPR / WG),
//   folded). Each lane sums its strided columns in order; with LPR > 1, after one barrier each lane
//   adds its row's LPR partial sums in lane order. Either way the row sum has a fixed order.
//   CPU adapters: LPR = 1 (a row per invocation: no barrier, and one invocation does a lot of
//   work, which lavapipe rewards). GPUs: LPR = WG = 64 (a row per workgroup).
// rmsnorm_dw_partial (x, dy, rstd -> partial): partial[b, c] = Σ over rows b·rb .. b·rb + rb − 1
//   of dy·x·rstd, rows in order. Grid: nb · nCb workgroups, column blocks of cb = 16·WG (V4) or
//   4·WG columns (4 accumulators per lane).
// rmsnorm_dw_finish (partial -> dw): dw[c] = Σ_b partial[b, c] in order b = 0 .. nb − 1, plus the
//   old dw[c] with ACC. Grid: ceil(C / WG) workgroups, one column per lane.
// V4: C % 4 == 0 (vec4 loads; stores stay scalar). WG: invocations per workgroup (8 on CPU
// adapters: one lavapipe subgroup; 64 on GPUs).

struct Params { N: u32, C: u32, nb: u32, rb: u32, nCb: u32, cb: u32, eps: f32 }

override WG: u32 = 8u;
override LPR: u32 = 1u;
override V4: bool = false;
override ACC: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> x4: array<vec4f>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(6) var<storage, read_write> rstd_out: array<f32>;
@group(0) @binding(6) var<storage, read> rstd: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read_write> partial: array<f32>;
@group(0) @binding(8) var<storage, read> partial_in: array<f32>;
@group(0) @binding(9) var<storage, read_write> dw: array<f32>;

var<workgroup> lane_sums: array<f32, WG>;

fn linear_wg(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
}

// The row's total of its LPR lanes' partial sums, added in lane order. Call in uniform control flow.
fn row_total(lid: u32, mine: f32) -> f32 {
  if (LPR == 1u) { return mine; }
  lane_sums[lid] = mine;
  workgroupBarrier();
  let first = lid - lid % LPR;
  var total = 0.0;
  for (var l = 0u; l < LPR; l++) { total += lane_sums[first + l]; }
  return total;
}

@compute @workgroup_size(WG)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let row = linear_wg(wid, nwg) * (WG / LPR) + lid / LPR;
  let lane = lid % LPR;
  let live = row < p.N;             // every lane reaches the barrier, also past the last row
  let base = min(row, p.N - 1u) * p.C;
  var ss = 0.0;
  if (V4) {
    var acc = vec4f(0.0);
    for (var c = lane * 4u; c < p.C; c += LPR * 4u) { let v = x4[(base + c) >> 2u]; acc += v * v; }
    ss = (acc.x + acc.y) + (acc.z + acc.w);
  } else {
    for (var c = lane; c < p.C; c += LPR) { let v = x[base + c]; ss += v * v; }
  }
  let r = 1.0 / sqrt(row_total(lid, ss) / f32(p.C) + p.eps);
  if (!live) { return; }
  if (lane == 0u) { rstd_out[row] = r; }
  if (V4) {
    for (var c = lane * 4u; c < p.C; c += LPR * 4u) {
      let v = x4[(base + c) >> 2u] * r * vec4f(w[c], w[c + 1u], w[c + 2u], w[c + 3u]);
      out[base + c] = v.x; out[base + c + 1u] = v.y; out[base + c + 2u] = v.z; out[base + c + 3u] = v.w;
    }
  } else {
    for (var c = lane; c < p.C; c += LPR) { out[base + c] = x[base + c] * r * w[c]; }
  }
}

@compute @workgroup_size(WG)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let row = linear_wg(wid, nwg) * (WG / LPR) + lid / LPR;
  let lane = lid % LPR;
  let live = row < p.N;
  let base = min(row, p.N - 1u) * p.C;
  var s = 0.0;
  if (V4) {
    var acc = vec4f(0.0);
    for (var c = lane * 4u; c < p.C; c += LPR * 4u) {
      let wv = vec4f(w[c], w[c + 1u], w[c + 2u], w[c + 3u]);
      acc += dy4[(base + c) >> 2u] * wv * x4[(base + c) >> 2u];
    }
    s = (acc.x + acc.y) + (acc.z + acc.w);
  } else {
    for (var c = lane; c < p.C; c += LPR) { s += dy[base + c] * w[c] * x[base + c]; }
  }
  let total = row_total(lid, s);
  if (!live) { return; }
  let r = rstd[row];
  let k = r * r * r * total / f32(p.C);
  if (V4) {
    for (var c = lane * 4u; c < p.C; c += LPR * 4u) {
      let i = base + c;
      let wv = vec4f(w[c], w[c + 1u], w[c + 2u], w[c + 3u]);
      var g = r * wv * dy4[i >> 2u] - k * x4[i >> 2u];
      if (ACC) { g += vec4f(out[i], out[i + 1u], out[i + 2u], out[i + 3u]); }
      out[i] = g.x; out[i + 1u] = g.y; out[i + 2u] = g.z; out[i + 3u] = g.w;
    }
  } else {
    for (var c = lane; c < p.C; c += LPR) {
      var g = r * w[c] * dy[base + c] - k * x[base + c];
      if (ACC) { g += out[base + c]; }
      out[base + c] = g;
    }
  }
}

@compute @workgroup_size(WG)
fn rmsnorm_dw_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) lid: u32) {
  let g = linear_wg(wid, nwg);
  if (g >= p.nb * p.nCb) { return; }
  let b = g / p.nCb;
  let c0 = (g % p.nCb) * p.cb;
  let r0 = b * p.rb;
  let r1 = min(r0 + p.rb, p.N);
  if (V4) {
    var acc = array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
    for (var r = r0; r < r1; r++) {
      let rs = rstd[r];
      for (var j = 0u; j < 4u; j++) {
        let c = c0 + (j * WG + lid) * 4u;
        if (c < p.C) { let i = (r * p.C + c) >> 2u; acc[j] += dy4[i] * x4[i] * rs; }
      }
    }
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + (j * WG + lid) * 4u;
      if (c < p.C) {
        let o = b * p.C + c;
        partial[o] = acc[j].x; partial[o + 1u] = acc[j].y; partial[o + 2u] = acc[j].z; partial[o + 3u] = acc[j].w;
      }
    }
  } else {
    var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var r = r0; r < r1; r++) {
      let rs = rstd[r];
      for (var j = 0u; j < 4u; j++) {
        let c = c0 + j * WG + lid;
        if (c < p.C) { acc[j] += dy[r * p.C + c] * x[r * p.C + c] * rs; }
      }
    }
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + j * WG + lid;
      if (c < p.C) { partial[b * p.C + c] = acc[j]; }
    }
  }
}

@compute @workgroup_size(WG)
fn rmsnorm_dw_finish(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let c = linear_wg(wid, nwg) * WG + lid;
  if (c >= p.C) { return; }
  var s = 0.0;
  for (var b = 0u; b < p.nb; b++) { s += partial_in[b * p.C + c]; }
  if (ACC) { s += dw[c]; }
  dw[c] = s;
}
