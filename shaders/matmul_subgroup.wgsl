// matmul for CPU adapters with 8-wide subgroups (lavapipe): the contract of
// shaders/matmul_common.wgsl (bindings, Params, overrides TA/TB/VA/VB/ACC/BIAS), in its own file
// because `enable subgroups` needs the device feature.
// Why: on lavapipe a subgroup is one SIMD vector of 8 invocations, and every storage load is a
// gather, so gathers per FMA set the speed. Here the 8 lanes of a subgroup own 8 different row
// pairs of the SAME 16 columns, so the op(B) values they need are identical: the lanes load them
// once between them (two vec4s each) and pass them round with subgroupBroadcast (a register
// permute), instead of 8 lanes gathering the same addresses. Per 4-deep K block and lane:
// 2 vec4 gathers for A and 2 for B for 128 FMAs. (A 4 x 8 tile per lane needs 4 + 1 for the
// same FMAs; on lavapipe 2 x 16 is about 1.4x faster at n = 1024: README, matmul.) With TA the
// subgroup's rows of op(A) are contiguous in A, so A's block is shared the same way, through
// subgroupShuffle (the weight gradients: 1.39x over 8 scalar gathers per lane, README).
// Workgroup (8, WGY): lid.x is the subgroup lane (requires subgroup size 8, checked by the host).
// Invocation (lid.x, lid.y) computes C[row0 .. row0+1, col0 .. col0+15] with
// row0 = (wid.y * 8 + lid.x) * 2, col0 = (wid.x * WGY + lid.y) * 16.
// Grid: [ceil(N / (16 * WGY)), ceil(M / 16), batch].
enable subgroups;

// #include shaders/matmul_common.wgsl

override WGY: u32 = 8u;

// op(B)[k, cols[c]] for the 16 (clamped) columns of the tile, as 4 vec4s.
fn b_row16(bbase: u32, k: u32, cols: array<u32, 16>) -> array<vec4f, 4> {
  var r: array<vec4f, 4>;
  for (var q = 0u; q < 4u; q++) {
    r[q] = vec4f(load_b(bbase, k, cols[4u * q]), load_b(bbase, k, cols[4u * q + 1u]),
                 load_b(bbase, k, cols[4u * q + 2u]), load_b(bbase, k, cols[4u * q + 3u]));
  }
  return r;
}

@compute @workgroup_size(8, WGY, 1)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let lane = lid.x;
  let row0 = (wid.y * 8u + lane) * 2u;
  let col0 = (wid.x * WGY + lid.y) * 16u;
  let batch = wid.z;
  let abase = batch * p.sa;
  let bbase = batch * p.sb;
  let M = p.M;
  let N = p.N;
  let K = p.K;

  let r0 = min(row0, M - 1u);
  let r1 = min(row0 + 1u, M - 1u);
  var cols: array<u32, 16>;
  for (var j = 0u; j < 16u; j++) { cols[j] = min(col0 + j, N - 1u); }
  // This lane's share of the B block, slots t = 0, 1:
  // !TB: row k + lane / 2, columns col0 + 4q .. +3 with q = 2 * (lane % 2) + t;
  // TB: column col0 + 2 * lane + t, k .. k+3.
  let kk_mine = lane >> 1u;
  var want: array<u32, 2>;
  var start: array<u32, 2>;
  var tcol: array<u32, 2>;
  for (var t = 0u; t < 2u; t++) {
    want[t] = col0 + 4u * (2u * (lane & 1u) + t);
    start[t] = min(want[t], N - 4u);
    tcol[t] = cols[2u * lane + t];
  }

  // TA && VA: the subgroup's 16 rows are 16 contiguous floats of A per k, so the lanes load the
  // 4 x 16 block once between them (one vec4 per slot: k + 2t + lane / 4, rows 4 * (lane % 4) ..
  // +3 of the 16) and each lane takes its two rows per k with one subgroupShuffle, instead of 8
  // scalar gathers per lane.
  let arow_want = wid.y * 16u + 4u * (lane & 3u);
  let arow_start = min(arow_want, M - 4u);
  let a_odd = (lane & 1u) == 1u;

  var acc: array<vec4f, 8>; // acc[4 * i + q] = C[row0 + i, col0 + 4q .. col0 + 4q + 3]
  let kmain = K & ~3u;
  for (var k = 0u; k < kmain; k += 4u) {
    var a0: vec4f; // op(A)[r0, k .. k+3]
    var a1: vec4f;
    if (!TA && VA) {
      a0 = a4[(abase + r0 * K + k) >> 2u];
      a1 = a4[(abase + r1 * K + k) >> 2u];
    } else if (TA && VA) {
      var amine: array<vec4f, 2>;
      for (var t = 0u; t < 2u; t++) {
        let kr = k + 2u * t + (lane >> 2u);
        amine[t] = shift_edge(a4[(abase + kr * M + arow_start) >> 2u], arow_want, arow_start);
      }
      // Row k + kk sits in slot kk / 2 of lanes 4 * (kk % 2) .. +3; this lane's rows in vec4 lane / 2.
      for (var kk = 0u; kk < 4u; kk++) {
        let x = subgroupShuffle(amine[kk >> 1u], 4u * (kk & 1u) + (lane >> 1u));
        let pair = select(x.xy, x.zw, a_odd);
        a0[kk] = pair.x;
        a1[kk] = pair.y;
      }
    } else {
      a0 = vec4f(load_a(abase, r0, k), load_a(abase, r0, k + 1u), load_a(abase, r0, k + 2u), load_a(abase, r0, k + 3u));
      a1 = vec4f(load_a(abase, r1, k), load_a(abase, r1, k + 1u), load_a(abase, r1, k + 2u), load_a(abase, r1, k + 3u));
    }
    var mine: array<vec4f, 2>;
    for (var t = 0u; t < 2u; t++) {
      if (TB) {
        if (VB) { mine[t] = b4[(bbase + tcol[t] * K + k) >> 2u]; }
        else {
          mine[t] = vec4f(load_b(bbase, k, tcol[t]), load_b(bbase, k + 1u, tcol[t]), load_b(bbase, k + 2u, tcol[t]), load_b(bbase, k + 3u, tcol[t]));
        }
      } else {
        let kr = k + kk_mine;
        if (VB) { mine[t] = shift_edge(b4[(bbase + kr * N + start[t]) >> 2u], want[t], start[t]); }
        else {
          let w = want[t];
          mine[t] = vec4f(load_b(bbase, kr, min(w, N - 1u)), load_b(bbase, kr, min(w + 1u, N - 1u)),
                          load_b(bbase, kr, min(w + 2u, N - 1u)), load_b(bbase, kr, min(w + 3u, N - 1u)));
        }
      }
    }
    // g[2 * l + t] = lane l's slot t (l is a constant for subgroupBroadcast).
    let g = array<vec4f, 16>(
      subgroupBroadcast(mine[0], 0u), subgroupBroadcast(mine[1], 0u), subgroupBroadcast(mine[0], 1u), subgroupBroadcast(mine[1], 1u),
      subgroupBroadcast(mine[0], 2u), subgroupBroadcast(mine[1], 2u), subgroupBroadcast(mine[0], 3u), subgroupBroadcast(mine[1], 3u),
      subgroupBroadcast(mine[0], 4u), subgroupBroadcast(mine[1], 4u), subgroupBroadcast(mine[0], 5u), subgroupBroadcast(mine[1], 5u),
      subgroupBroadcast(mine[0], 6u), subgroupBroadcast(mine[1], 6u), subgroupBroadcast(mine[0], 7u), subgroupBroadcast(mine[1], 7u));
    // bk[4 * kk + q] = op(B)[k + kk, col0 + 4q .. +3]. !TB: that is g itself; TB: g[c] is column
    // col0 + c over k .. k+3, transposed here.
    var bk: array<vec4f, 16>;
    if (TB) {
      for (var kk = 0u; kk < 4u; kk++) {
        for (var q = 0u; q < 4u; q++) {
          bk[4u * kk + q] = vec4f(g[4u * q][kk], g[4u * q + 1u][kk], g[4u * q + 2u][kk], g[4u * q + 3u][kk]);
        }
      }
    } else {
      bk = g;
    }
    for (var kk = 0u; kk < 4u; kk++) {
      let v0 = vec4f(a0[kk]);
      let v1 = vec4f(a1[kk]);
      for (var q = 0u; q < 4u; q++) {
        acc[q] = fma(v0, bk[4u * kk + q], acc[q]);
        acc[4u + q] = fma(v1, bk[4u * kk + q], acc[4u + q]);
      }
    }
  }
  // The K % 4 tail: every lane loads its own 16 columns (at most 3 rounds).
  for (var k = kmain; k < K; k++) {
    let brow = b_row16(bbase, k, cols);
    let v0 = vec4f(load_a(abase, r0, k));
    let v1 = vec4f(load_a(abase, r1, k));
    for (var q = 0u; q < 4u; q++) {
      acc[q] = fma(v0, brow[q], acc[q]);
      acc[4u + q] = fma(v1, brow[q], acc[4u + q]);
    }
  }
  for (var i = 0u; i < 2u; i++) {
    let r = row0 + i;
    if (r >= M) { break; }
    for (var j = 0u; j < 16u; j++) {
      store_c(batch, r, col0 + j, acc[4u * i + (j >> 2u)][j & 3u]);
    }
  }
}
