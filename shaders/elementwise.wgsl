// Elementwise ops over flat f32 tensors of n elements.
// Bindings: 0 params, 1 a [n] (read), 2 b [n] (read), 3 out [n] (read_write).
//   fill:        out[i] = value
//   add:         out[i] = alpha * a[i] + beta * b[i]
//   scale:       out[i] = alpha * a[i]
//   add_inplace: out[i] = alpha * a[i] + beta * out[i]      (axpy-style accumulation)
// Grid: ceil(n / 256) workgroups of 256, as a 1-D count folded into 2-D/3-D by the host; the
// linear workgroup index is rebuilt below and every invocation bounds-checks against n.

struct Params { n: u32, alpha: f32, beta: f32, value: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn flat_index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * 256u + lid;
}

@compute @workgroup_size(256)
fn fill(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < p.n) { out[i] = p.value; }
}

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < p.n) { out[i] = p.alpha * a[i] + p.beta * b[i]; }
}

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < p.n) { out[i] = p.alpha * a[i]; }
}

@compute @workgroup_size(256)
fn add_inplace(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = flat_index(wid, nwg, lid);
  if (i < p.n) { out[i] = p.alpha * a[i] + p.beta * out[i]; }
}
