// Baseline for `longrl bench kernels` (attention): causal attention that materializes the [H, T, T]
// scores, one output element per invocation, every operand read straight from storage. Not used by
// longrl itself; it is the yardstick (and it needs T·T·H·4 bytes twice: 64 MiB each at T=2048, H=4).
// B = 1, Hkv = H. Layouts as in shaders/attention_common.wgsl: q, k, v, out, dout, dq, dk, dv
// [T, H*D]; s, ds [H, T, T]; lse [H, T].
// Forward: naive_scores (s = scale·q·kᵀ, -inf above the diagonal), naive_softmax (per row: lse,
// s = p in place), naive_pv (out = p·v). Backward: naive_dp (ds = dout·vᵀ), naive_ds (per row:
// ds = p·(ds - rowsum(p ⊙ ds))), naive_dq (dq = scale·ds·k), naive_dkv (dk = scale·dsᵀ·q, dv = pᵀ·dout).
// Grids: element kernels [ceil(cols/16), ceil(rows/16), H]; row kernels [ceil(T/64), H].

struct Params { T: u32, H: u32, D: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> s: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<storage, read> dout: array<f32>;
@group(0) @binding(8) var<storage, read_write> ds: array<f32>;
@group(0) @binding(9) var<storage, read_write> dq: array<f32>;
@group(0) @binding(10) var<storage, read_write> dk: array<f32>;
@group(0) @binding(11) var<storage, read_write> dv: array<f32>;

const NEG = -3.0e38;

fn row(t: u32, h: u32) -> u32 { return (t * p.H + h) * p.D; }
fn sidx(h: u32, i: u32, j: u32) -> u32 { return (h * p.T + i) * p.T + j; }

@compute @workgroup_size(16, 16)
fn naive_scores(@builtin(global_invocation_id) g: vec3u) {
  let j = g.x; let i = g.y; let h = g.z;
  if (i >= p.T || j >= p.T) { return; }
  var x = NEG;
  if (j <= i) {
    x = 0.0;
    for (var d = 0u; d < p.D; d++) { x += q[row(i, h) + d] * k[row(j, h) + d]; }
    x *= p.scale;
  }
  s[sidx(h, i, j)] = x;
}

@compute @workgroup_size(64)
fn naive_softmax(@builtin(global_invocation_id) g: vec3u) {
  let i = g.x; let h = g.y;
  if (i >= p.T) { return; }
  var m = NEG;
  for (var j = 0u; j <= i; j++) { m = max(m, s[sidx(h, i, j)]); }
  var sum = 0.0;
  for (var j = 0u; j <= i; j++) { sum += exp(s[sidx(h, i, j)] - m); }
  for (var j = 0u; j < p.T; j++) { s[sidx(h, i, j)] = select(0.0, exp(s[sidx(h, i, j)] - m) / sum, j <= i); }
  lse[h * p.T + i] = m + log(sum);
}

@compute @workgroup_size(16, 16)
fn naive_pv(@builtin(global_invocation_id) g: vec3u) {
  let d = g.x; let i = g.y; let h = g.z;
  if (i >= p.T || d >= p.D) { return; }
  var x = 0.0;
  for (var j = 0u; j <= i; j++) { x += s[sidx(h, i, j)] * v[row(j, h) + d]; }
  out[row(i, h) + d] = x;
}

@compute @workgroup_size(16, 16)
fn naive_dp(@builtin(global_invocation_id) g: vec3u) {
  let j = g.x; let i = g.y; let h = g.z;
  if (i >= p.T || j >= p.T) { return; }
  var x = 0.0;
  if (j <= i) {
    for (var d = 0u; d < p.D; d++) { x += dout[row(i, h) + d] * v[row(j, h) + d]; }
  }
  ds[sidx(h, i, j)] = x;
}

@compute @workgroup_size(64)
fn naive_ds(@builtin(global_invocation_id) g: vec3u) {
  let i = g.x; let h = g.y;
  if (i >= p.T) { return; }
  var delta = 0.0;
  for (var j = 0u; j <= i; j++) { delta += s[sidx(h, i, j)] * ds[sidx(h, i, j)]; }
  for (var j = 0u; j <= i; j++) { ds[sidx(h, i, j)] = s[sidx(h, i, j)] * (ds[sidx(h, i, j)] - delta); }
}

@compute @workgroup_size(16, 16)
fn naive_dq(@builtin(global_invocation_id) g: vec3u) {
  let d = g.x; let i = g.y; let h = g.z;
  if (i >= p.T || d >= p.D) { return; }
  var x = 0.0;
  for (var j = 0u; j <= i; j++) { x += ds[sidx(h, i, j)] * k[row(j, h) + d]; }
  dq[row(i, h) + d] = x * p.scale;
}

@compute @workgroup_size(16, 16)
fn naive_dkv(@builtin(global_invocation_id) g: vec3u) {
  let d = g.x; let j = g.y; let h = g.z;
  if (j >= p.T || d >= p.D) { return; }
  var xk = 0.0;
  var xv = 0.0;
  for (var i = j; i < p.T; i++) {
    xk += ds[sidx(h, i, j)] * q[row(i, h) + d];
    xv += s[sidx(h, i, j)] * dout[row(i, h) + d];
  }
  dk[row(j, h) + d] = xk * p.scale;
  dv[row(j, h) + d] = xv;
}
