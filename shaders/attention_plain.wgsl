// Attention for adapters without subgroups of at least 8 lanes: the kernels of
// shaders/attention_subgroup.wgsl with row loaders in which every invocation loads all 8 rows of a
// block itself. Correct everywhere; not tuned for any device (a GPU wants workgroup-memory tiles).

// #include shaders/attention_common.wgsl
// #include shaders/attention_forward.wgsl
// #include shaders/attention_backward.wgsl

fn k8(i0: u32, d: u32) -> array<vec4f, 8> {
  var r: array<vec4f, 8>;
  for (var i = 0u; i < 8u; i++) { r[i] = k[krow(i0 + i) + d]; }
  return r;
}
fn v8(i0: u32, d: u32) -> array<vec4f, 8> {
  var r: array<vec4f, 8>;
  for (var i = 0u; i < 8u; i++) { r[i] = v[krow(i0 + i) + d]; }
  return r;
}
fn q8(i0: u32, d: u32) -> array<vec4f, 8> {
  var r: array<vec4f, 8>;
  for (var i = 0u; i < 8u; i++) { r[i] = q[qrow(i0 + i) + d]; }
  return r;
}
fn do8(i0: u32, d: u32) -> array<vec4f, 8> {
  var r: array<vec4f, 8>;
  for (var i = 0u; i < 8u; i++) { r[i] = dout[qrow(i0 + i) + d]; }
  return r;
}
fn stats8(i0: u32) -> array<vec2f, 8> {
  var r: array<vec2f, 8>;
  for (var i = 0u; i < 8u; i++) { r[i] = stats[stat_index(i0 + i)]; }
  return r;
}
fn seg8(i0: u32) -> array<u32, 8> {
  var r: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) { r[i] = seg_of(i0 + i); }
  return r;
}
