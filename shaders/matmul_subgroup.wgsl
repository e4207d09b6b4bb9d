// matmul for CPU adapters with 8-wide subgroups (lavapipe): the contract of
// shaders/matmul_common.wgsl (bindings, Params, overrides TA/TB/VA/VB/ACC/BIAS), in its own file
// because `enable subgroups` needs the device feature.
// Why: on lavapipe a subgroup is one SIMD vector of 8 invocations, and every storage load is a
// gather. Here the 8 lanes of a subgroup own 8 different row blocks of the SAME 8 columns, so
// the op(B) values they need are identical: the lanes load them once between them (one vec4
// each) and pass them round with subgroupBroadcast (a register permute), instead of 8 lanes
// gathering the same addresses. Per 4-deep K block: 4 vec4 gathers for A and 1 for B per lane,
// against 4 + 8 in `matmul`, for the same 128 FMAs.
// Workgroup (8, WGY): lid.x is the subgroup lane (requires subgroup size 8, checked by the host).
// Invocation (lid.x, lid.y) computes C[row0 .. row0+3, col0 .. col0+7] with
// row0 = (wid.y * 8 + lid.x) * 4, col0 = (wid.x * WGY + lid.y) * 8.
// Grid: [ceil(N / (8 * WGY)), ceil(M / 32), batch].
enable subgroups;

// #include shaders/matmul_common.wgsl

override WGY: u32 = 8u;

// The 8 lanes' vec4s, lane j's value in slot j (j is a constant for subgroupBroadcast).
fn gather8(v: vec4f) -> array<vec4f, 8> {
  return array<vec4f, 8>(subgroupBroadcast(v, 0u), subgroupBroadcast(v, 1u), subgroupBroadcast(v, 2u), subgroupBroadcast(v, 3u),
                         subgroupBroadcast(v, 4u), subgroupBroadcast(v, 5u), subgroupBroadcast(v, 6u), subgroupBroadcast(v, 7u));
}

@compute @workgroup_size(8, WGY, 1)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let lane = lid.x;
  let row0 = (wid.y * 8u + lane) * 4u;
  let col0 = (wid.x * WGY + lid.y) * 8u;
  let batch = wid.z;
  let abase = batch * p.sa;
  let bbase = batch * p.sb;
  let M = p.M;
  let N = p.N;
  let K = p.K;

  var rows: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { rows[i] = min(row0 + i, M - 1u); }
  let row4 = min(row0, M - 4u);
  // This lane's share of the B block: !TB: row kk = lane / 2, columns col0 + 4*(lane % 2) .. +3;
  // TB: column col0 + lane, k .. k+3.
  let my_col = min(col0 + lane, N - 1u);
  let want = col0 + 4u * (lane & 1u);
  let start = min(want, N - 4u);

  var acc: array<vec4f, 8>; // acc[2*i + h] = C[row0 + i, col0 + 4h .. col0 + 4h + 3]
  let kmain = K & ~3u;
  for (var k = 0u; k < kmain; k += 4u) {
    let ablk = load_a_block(abase, rows, row4, k); // ablk[i] = op(A)[rows[i], k .. k+3]
    var blo: array<vec4f, 4>;
    var bhi: array<vec4f, 4>;
    if (TB) {
      var mine: vec4f;
      if (VB) { mine = b4[(bbase + my_col * K + k) >> 2u]; }
      else { mine = vec4f(load_b(bbase, k, my_col), load_b(bbase, k + 1u, my_col), load_b(bbase, k + 2u, my_col), load_b(bbase, k + 3u, my_col)); }
      let bcol = gather8(mine); // bcol[j] = op(B)[k .. k+3, col0 + j]
      for (var kk = 0u; kk < 4u; kk++) {
        blo[kk] = vec4f(bcol[0][kk], bcol[1][kk], bcol[2][kk], bcol[3][kk]);
        bhi[kk] = vec4f(bcol[4][kk], bcol[5][kk], bcol[6][kk], bcol[7][kk]);
      }
    } else {
      let kr = k + (lane >> 1u);
      var mine: vec4f;
      if (VB) { mine = shift_edge(b4[(bbase + kr * N + start) >> 2u], want, start); }
      else {
        mine = vec4f(load_b(bbase, kr, min(want, N - 1u)), load_b(bbase, kr, min(want + 1u, N - 1u)),
                     load_b(bbase, kr, min(want + 2u, N - 1u)), load_b(bbase, kr, min(want + 3u, N - 1u)));
      }
      let g = gather8(mine); // g[2*kk + h] = op(B)[k + kk, col0 + 4h .. +3]
      for (var kk = 0u; kk < 4u; kk++) {
        blo[kk] = g[2u * kk];
        bhi[kk] = g[2u * kk + 1u];
      }
    }
    for (var kk = 0u; kk < 4u; kk++) {
      for (var i = 0u; i < 4u; i++) {
        let av = vec4f(ablk[i][kk]);
        acc[2u * i] = fma(av, blo[kk], acc[2u * i]);
        acc[2u * i + 1u] = fma(av, bhi[kk], acc[2u * i + 1u]);
      }
    }
  }
  var cols: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) { cols[j] = min(col0 + j, N - 1u); }
  tail_k(&acc, abase, bbase, rows, cols, kmain);
  store_tile(batch, row0, col0, acc);
}
