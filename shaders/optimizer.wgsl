// Optimizer steps over flat f32 tensors, with global gradient-norm clipping whose coefficient the
// GPU computes: the host records norm and update together and never waits for the norm.
//   grad_norm_finish: clip[0] holds Σ g² over every gradient (shaders/reduce.wgsl, fixed order);
//     writes clip[0] = norm = sqrt(Σ g²) and clip[1] = coef = min(1, max_norm / (norm + 1e-6))
//     (torch.nn.utils.clip_grad_norm_), or 1 when clipping is off or the norm is not finite.
//   adamw_step / adamw_tail: torch.optim.AdamW (decoupled weight decay, bias correction), as
//     torch's single-tensor loop orders it, with g = coef · grad:
//       w *= decay_mul (1 - lr·wd, or 1 for tensors without decay); m = lerp(m, g, 1 - β1);
//       v = β2·v + (1 - β2)·g²; w -= step_size · m / (sqrt(v) / bc2_sqrt + eps)
//     where step_size = lr / (1 - β1^t) and bc2_sqrt = sqrt(1 - β2^t) come from the host.
//   sgd_step / sgd_tail: torch.optim.SGD, with g = coef · grad:
//       d = g + wd·w; momentum: b = d at the first step, else momentum·b + (1 - dampening)·d;
//       d = d + momentum·b (nesterov) or b; w -= lr·d
// With skip_nonfinite, a non-finite norm leaves w, m, v, b untouched (verl skips such steps).
// The gradient itself is never modified.
// Bindings: 0 params; 1 clip [2] (norm, coef); vec4 entries: 2 g4, 3 w4, 4 m4, 5 v4 (N/4 vec4s);
//   tail entries: 6 g, 7 w, 8 m, 9 v (N scalars). SGD keeps its momentum buffer b in the m slot
//   (a 4-element dummy when momentum is 0; then it is never touched).
// Grid: vec4 entries ceil(n / (256·per)) workgroups of 256 over n = N/4 vec4s (1-D, folded by the
//   host); each invocation updates `per` vec4s, 256 apart (16 on lavapipe, measured ~1.5x over 1;
//   1 on GPUs). `per` is a uniform, not an override, on purpose: with a constant trip count LLVM
//   unrolls the loop and lavapipe ran 2-4x slower. Tail entries: one workgroup of 4, elements
//   base .. n-1 (the last N mod 4). grad_norm_finish: one invocation.

struct Params {
  n: u32, base: u32, per: u32, skip_nonfinite: u32, clip_on: u32, first: u32, nesterov: u32,
  max_norm: f32, decay_mul: f32, beta1: f32, beta2: f32, one_minus_beta1: f32, one_minus_beta2: f32,
  step_size: f32, bc2_sqrt: f32, eps: f32, lr: f32, wd: f32, momentum: f32, dampening: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> clip: array<f32>;
@group(0) @binding(2) var<storage, read> g4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> w4: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> m4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> v4: array<vec4f>;
@group(0) @binding(6) var<storage, read> g: array<f32>;
@group(0) @binding(7) var<storage, read_write> w: array<f32>;
@group(0) @binding(8) var<storage, read_write> m: array<f32>;
@group(0) @binding(9) var<storage, read_write> v: array<f32>;

// Exponent bits all set = inf or NaN; on the bits, so no fast-math folding can remove the test.
fn is_finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// First vec4 of this invocation; its k-th is first + k·256.
fn first_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * 256u * p.per + lid;
}

// Whether this step leaves everything as it is.
fn skipped() -> bool {
  return p.skip_nonfinite != 0u && !is_finite(clip[0]);
}

@compute @workgroup_size(1)
fn grad_norm_finish() {
  let norm = sqrt(clip[0]);
  var coef = 1.0;
  if (p.clip_on != 0u && is_finite(norm)) {
    coef = min(1.0, p.max_norm / (norm + 1e-6));
  }
  clip[0] = norm;
  clip[1] = coef;
}

struct Adam { w: vec4f, m: vec4f, v: vec4f }

fn adamw(graw: vec4f, w0: vec4f, m0: vec4f, v0: vec4f) -> Adam {
  let gc = graw * clip[1];
  let m1 = m0 + (gc - m0) * p.one_minus_beta1;
  let v1 = v0 * p.beta2 + gc * gc * p.one_minus_beta2;
  let denom = sqrt(v1) / p.bc2_sqrt + p.eps;
  return Adam(w0 * p.decay_mul - p.step_size * m1 / denom, m1, v1);
}

@compute @workgroup_size(256)
fn adamw_step(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (skipped()) { return; }
  let first = first_index(wid, nwg, lid);
  for (var k = 0u; k < p.per; k++) {
    let i = first + k * 256u;
    if (i < p.n) {
      let r = adamw(g4[i], w4[i], m4[i], v4[i]);
      w4[i] = r.w;
      m4[i] = r.m;
      v4[i] = r.v;
    }
  }
}

@compute @workgroup_size(4)
fn adamw_tail(@builtin(local_invocation_index) lid: u32) {
  let i = p.base + lid;
  if (i >= p.n || skipped()) { return; }
  let r = adamw(vec4f(g[i]), vec4f(w[i]), vec4f(m[i]), vec4f(v[i]));
  w[i] = r.w.x;
  m[i] = r.m.x;
  v[i] = r.v.x;
}

struct Sgd { w: vec4f, b: vec4f }

fn sgd(graw: vec4f, w0: vec4f, b0: vec4f) -> Sgd {
  var d = graw * clip[1] + p.wd * w0;
  var b = b0;
  if (p.momentum != 0.0) {
    if (p.first != 0u) { b = d; } else { b = p.momentum * b0 + (1.0 - p.dampening) * d; }
    if (p.nesterov != 0u) { d = d + p.momentum * b; } else { d = b; }
  }
  return Sgd(w0 - p.lr * d, b);
}

@compute @workgroup_size(256)
fn sgd_step(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (skipped()) { return; }
  let first = first_index(wid, nwg, lid);
  let with_momentum = p.momentum != 0.0;
  for (var k = 0u; k < p.per; k++) {
    let i = first + k * 256u;
    if (i < p.n) {
      var b0 = vec4f(0.0);
      if (with_momentum && p.first == 0u) { b0 = m4[i]; }
      let r = sgd(g4[i], w4[i], b0);
      w4[i] = r.w;
      if (with_momentum) { m4[i] = r.b; }
    }
  }
}

@compute @workgroup_size(4)
fn sgd_tail(@builtin(local_invocation_index) lid: u32) {
  let i = p.base + lid;
  if (i >= p.n || skipped()) { return; }
  let with_momentum = p.momentum != 0.0;
  var b0 = 0.0;
  if (with_momentum && p.first == 0u) { b0 = m[i]; }
  let r = sgd(vec4f(g[i]), vec4f(w[i]), vec4f(b0));
  w[i] = r.w.x;
  if (with_momentum) { m[i] = r.b.x; }
}
