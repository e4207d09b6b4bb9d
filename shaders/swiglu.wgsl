// SwiGLU, the gate of Qwen2's MLP: out = silu(g) ⊙ u, silu(x) = x·σ(x) (Shazeer 2020, "GLU
// Variants Improve Transformer"; Hugging Face Qwen2MLP: down_proj(act_fn(gate_proj(x)) * up_proj(x))).
// Backward: du = dout·silu(g),  dg = dout·u·σ(g)·(1 + g·(1 − σ(g))).
// σ is evaluated as 1/(1 + e) or e/(1 + e) with e = exp(−|x|) ≤ 1, so nothing overflows at any |x|,
// and 1 − σ(g) is computed as σ(−g) (no cancellation for large g).
//
// Bindings: 0 params; 1 g [n]; 2 g4 (vec4 view of 1); 3 u [n]; 4 u4; 5 dout [n]; 6 dout4;
//   7 out [n] (forward) or dg [n] (backward); 8 du [n] (backward). All flat (n = N·I elements).
// Grid: one workgroup of WG lanes per chunk of 4·CHUNK elements (1-D count ceil(n / (4·CHUNK)),
//   folded); lane l takes elements (or vec4s with V4) l, l + WG, ... of its chunk: on lavapipe one
//   invocation costs far more than one loop iteration, so each does CHUNK / WG iterations.
// V4: n % 4 == 0 (vec4 loads; stores stay scalar). WG: 8 on CPU adapters (one lavapipe
// subgroup), 64 on GPUs.

struct Params { n: u32 }

override WG: u32 = 8u;
override V4: bool = false;
const CHUNK: u32 = 256u; // vec4s (V4) or 4-element groups per workgroup

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> g4: array<vec4f>;
@group(0) @binding(3) var<storage, read> u: array<f32>;
@group(0) @binding(4) var<storage, read> u4: array<vec4f>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> dout4: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read_write> du: array<f32>;

// σ(x) and σ(−x) = 1 − σ(x), each without cancellation.
struct Sig { pos: vec4f, neg: vec4f }

fn sigmoid2(x: vec4f) -> Sig {
  let e = exp(-abs(x));
  let big = 1.0 / (1.0 + e);  // σ(|x|)
  let small = e * big;        // σ(−|x|)
  let nonneg = x >= vec4f(0.0);
  return Sig(select(small, big, nonneg), select(big, small, nonneg));
}

fn sigmoid(x: vec4f) -> vec4f {
  return sigmoid2(x).pos;
}

fn store4(i: u32, v: vec4f) {
  out[i] = v.x; out[i + 1u] = v.y; out[i + 2u] = v.z; out[i + 3u] = v.w;
}

fn chunk_start(wid: vec3u, nwg: vec3u) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * CHUNK * 4u;
}

@compute @workgroup_size(WG)
fn swiglu_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let start = chunk_start(wid, nwg);
  let end = min(start + CHUNK * 4u, p.n);
  if (V4) {
    for (var i = start + lid * 4u; i < end; i += WG * 4u) {
      let gv = g4[i >> 2u];
      store4(i, gv * sigmoid(gv) * u4[i >> 2u]);
    }
  } else {
    for (var i = start + lid; i < end; i += WG) {
      let gv = g[i];
      out[i] = gv * sigmoid(vec4f(gv)).x * u[i];
    }
  }
}

@compute @workgroup_size(WG)
fn swiglu_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let start = chunk_start(wid, nwg);
  let end = min(start + CHUNK * 4u, p.n);
  if (V4) {
    for (var i = start + lid * 4u; i < end; i += WG * 4u) {
      let gv = g4[i >> 2u];
      let d = dout4[i >> 2u];
      let s = sigmoid2(gv);
      let dg = d * u4[i >> 2u] * s.pos * (1.0 + gv * s.neg);
      let duv = d * gv * s.pos;
      store4(i, dg);
      du[i] = duv.x; du[i + 1u] = duv.y; du[i + 2u] = duv.z; du[i + 3u] = duv.w;
    }
  } else {
    for (var i = start + lid; i < end; i += WG) {
      let gv = g[i];
      let d = dout[i];
      let s = sigmoid2(vec4f(gv));
      out[i] = d * u[i] * s.pos.x * (1.0 + gv * s.neg.x);
      du[i] = d * gv * s.pos.x;
    }
  }
}
