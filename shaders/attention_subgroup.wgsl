// Attention for adapters with subgroups of at least 8 lanes (lavapipe: exactly 8, one SIMD vector).
// Each workgroup is 8 invocations = one subgroup. The rows every lane needs (the keys of a block in
// the forward and dq passes, the queries of a block in the dk/dv pass) are loaded once between the
// 8 lanes, one row each, and passed round with subgroupBroadcast (a register permute on lavapipe,
// where every storage load is an expensive gather: shared/perf.md). The kernels themselves are in
// the included files; this file supplies the row loaders they call (shaders/attention_plain.wgsl
// has the same loaders without subgroups).
// Control flow around the broadcasts is uniform within the subgroup = workgroup (loop bounds come
// from the workgroup id, uniforms, and values shared to every lane), which WGSL's analysis cannot
// prove; hence the diagnostic.
enable subgroups;
diagnostic(off, subgroup_uniformity);

// #include shaders/attention_common.wgsl
// #include shaders/attention_forward.wgsl
// #include shaders/attention_backward.wgsl

// Lane jj's x, for jj = 0..7 (the lane index of subgroupBroadcast must be a constant).
fn share4(x: vec4f) -> array<vec4f, 8> {
  return array<vec4f, 8>(subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u),
                         subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u));
}

// Rows i0 .. i0+7 at vec4 column d (rows past T are clamped to T - 1).
fn k8(i0: u32, d: u32) -> array<vec4f, 8> { return share4(k[krow(i0 + g_lane) + d]); }
fn v8(i0: u32, d: u32) -> array<vec4f, 8> { return share4(v[krow(i0 + g_lane) + d]); }
fn q8(i0: u32, d: u32) -> array<vec4f, 8> { return share4(q[qrow(i0 + g_lane) + d]); }
fn do8(i0: u32, d: u32) -> array<vec4f, 8> { return share4(dout[qrow(i0 + g_lane) + d]); }

// (lse, delta) and segStart of queries i0 .. i0+7.
fn stats8(i0: u32) -> array<vec2f, 8> {
  let x = stats[stat_index(i0 + g_lane)];
  return array<vec2f, 8>(subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u),
                         subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u));
}
fn seg8(i0: u32) -> array<u32, 8> {
  let x = seg_of(i0 + g_lane);
  return array<u32, 8>(subgroupBroadcast(x, 0u), subgroupBroadcast(x, 1u), subgroupBroadcast(x, 2u), subgroupBroadcast(x, 3u),
                       subgroupBroadcast(x, 4u), subgroupBroadcast(x, 5u), subgroupBroadcast(x, 6u), subgroupBroadcast(x, 7u));
}
