// Batched f32 matmul: C[b] = alpha * op(A[b]) · op(B[b]) (+ bias) (+ beta * C[b]).
// Bindings, Params and the overrides TA, TB, VA, VB, ACC, BIAS: see shaders/matmul_common.wgsl.
// Three variants, chosen per adapter by src/kernels/matmul.ts:
// `matmul` here (CPU adapters without 8-wide subgroups): each invocation computes a 4 x 8 tile
// of C, reading K in blocks of 4. On lavapipe the cost is loads per FMA (shared/perf.md), so the
// tile is held in 8 vec4 registers and nothing goes through workgroup memory. Rows and columns
// past the edge are clamped for loading (no branches in the K loop) and skipped when storing.
// Overrides WGX, WGY: workgroup shape. Grid: [ceil(N / (8*WGX)), ceil(M / (4*WGY)), batch].
// `matmul_tiled` here (GPUs): the classic scheme GPUs favour: a 16 x 16 workgroup stages 64 x 16
// tiles of op(A) and 16 x 64 tiles of op(B) in workgroup memory (zero-padded at the edges), and
// each invocation accumulates a 4 x 4 block of the 64 x 64 output tile.
// Grid: [ceil(N / 64), ceil(M / 64), batch].
// `matmul` in shaders/matmul_subgroup.wgsl (lavapipe): the register tile, sharing B loads
// across a subgroup.

// #include shaders/matmul_common.wgsl

override WGX: u32 = 8u;
override WGY: u32 = 8u;

@compute @workgroup_size(WGX, WGY, 1)
fn matmul(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let row0 = (wid.y * WGY + lid.y) * 4u;
  let col0 = (wid.x * WGX + lid.x) * 8u;
  let batch = wid.z;
  let abase = batch * p.sa;
  let bbase = batch * p.sb;
  let M = p.M;
  let N = p.N;
  let K = p.K;

  // Clamped row/column indices for loading.
  var rows: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { rows[i] = min(row0 + i, M - 1u); }
  var cols: array<u32, 8>;
  for (var j = 0u; j < 8u; j++) { cols[j] = min(col0 + j, N - 1u); }
  // vec4-aligned starts (VA with TA: M % 4 == 0; VB without TB: N % 4 == 0).
  let row4 = min(row0, M - 4u);
  let col4a = min(col0, N - 4u);
  let col4b = min(col0 + 4u, N - 4u);

  var acc: array<vec4f, 8>; // acc[2*i + h] = C[row0 + i, col0 + 4h .. col0 + 4h + 3]
  let kmain = K & ~3u;
  for (var k = 0u; k < kmain; k += 4u) {
    let ablk = load_a_block(abase, rows, row4, k); // ablk[i] = op(A)[row i, k .. k+3]
    // blo[kk], bhi[kk] = op(B)[k + kk, col0 .. col0 + 3], [col0 + 4 .. col0 + 7]
    var blo: array<vec4f, 4>;
    var bhi: array<vec4f, 4>;
    if (!TB && VB) {
      for (var kk = 0u; kk < 4u; kk++) {
        let rowbase = bbase + (k + kk) * N;
        blo[kk] = shift_edge(b4[(rowbase + col4a) >> 2u], col0, col4a);
        bhi[kk] = shift_edge(b4[(rowbase + col4b) >> 2u], col0 + 4u, col4b);
      }
    } else if (TB && VB) {
      var bcol: array<vec4f, 8>; // bcol[j] = op(B)[k .. k+3, cols[j]]
      for (var j = 0u; j < 8u; j++) { bcol[j] = b4[(bbase + cols[j] * K + k) >> 2u]; }
      for (var kk = 0u; kk < 4u; kk++) {
        blo[kk] = vec4f(bcol[0][kk], bcol[1][kk], bcol[2][kk], bcol[3][kk]);
        bhi[kk] = vec4f(bcol[4][kk], bcol[5][kk], bcol[6][kk], bcol[7][kk]);
      }
    } else {
      for (var kk = 0u; kk < 4u; kk++) {
        blo[kk] = vec4f(load_b(bbase, k + kk, cols[0]), load_b(bbase, k + kk, cols[1]),
                        load_b(bbase, k + kk, cols[2]), load_b(bbase, k + kk, cols[3]));
        bhi[kk] = vec4f(load_b(bbase, k + kk, cols[4]), load_b(bbase, k + kk, cols[5]),
                        load_b(bbase, k + kk, cols[6]), load_b(bbase, k + kk, cols[7]));
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
  tail_k(&acc, abase, bbase, rows, cols, kmain);
  store_tile(batch, row0, col0, acc);
}

var<workgroup> tile_a: array<array<f32, 64>, 16>; // tile_a[k][m]
var<workgroup> tile_b: array<array<f32, 64>, 16>; // tile_b[k][n]

@compute @workgroup_size(16, 16, 1)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u,
                @builtin(local_invocation_index) li: u32) {
  let batch = wid.z;
  let abase = batch * p.sa;
  let bbase = batch * p.sb;
  let m0 = wid.y * 64u;
  let n0 = wid.x * 64u;
  var acc: array<vec4f, 4>; // acc[i] = C[m0 + 4*lid.y + i, n0 + 4*lid.x .. +3]
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    // 1024 elements per tile, 4 per invocation; the fastest-varying index follows memory order.
    for (var e = 0u; e < 4u; e++) {
      let flat = e * 256u + li;
      var km = flat / 64u; var mm = flat % 64u;     // A stored [K, M] (TA): m fastest
      if (!TA) { km = flat % 16u; mm = flat / 16u; }
      let ga = m0 + mm;
      let gk = k0 + km;
      tile_a[km][mm] = select(0.0, load_a(abase, min(ga, p.M - 1u), min(gk, p.K - 1u)), ga < p.M && gk < p.K);
      var kn = flat / 64u; var nn = flat % 64u;     // B stored [K, N]: n fastest
      if (TB) { kn = flat % 16u; nn = flat / 16u; }
      let gb = n0 + nn;
      let gkb = k0 + kn;
      tile_b[kn][nn] = select(0.0, load_b(bbase, min(gkb, p.K - 1u), min(gb, p.N - 1u)), gb < p.N && gkb < p.K);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let bv = vec4f(tile_b[kk][4u * lid.x], tile_b[kk][4u * lid.x + 1u], tile_b[kk][4u * lid.x + 2u], tile_b[kk][4u * lid.x + 3u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] = fma(vec4f(tile_a[kk][4u * lid.y + i]), bv, acc[i]);
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = m0 + 4u * lid.y + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      store_c(batch, r, n0 + 4u * lid.x + j, acc[i][j]);
    }
  }
}

// `matvec` (CPU adapters, M <= 8: decoding one or a few tokens per row): one invocation per column
// n of C computes all M rows, so op(B) is read once and no work goes to rows past M (the 4 x 8
// register tile's grid computes at least 32 rows). With TB, VA and VB (both operands contiguous
// along K) it reads K in vec4s. Override MV: the rows, M. Grid: [ceil(N / 64), 1, batch].
override MV: u32 = 1u;

@compute @workgroup_size(64, 1, 1)
fn matvec(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let n = wid.x * 64u + lid.x;
  if (n >= p.N) { return; }
  let batch = wid.z;
  let abase = batch * p.sa;
  let bbase = batch * p.sb;
  var acc: array<f32, 8>;
  var k = 0u;
  if (TB && VB && !TA && VA) {
    for (; k + 4u <= p.K; k += 4u) {
      let bv = b4[(bbase + n * p.K + k) >> 2u];
      for (var m = 0u; m < MV; m++) { acc[m] += dot(a4[(abase + m * p.K + k) >> 2u], bv); }
    }
  }
  for (; k < p.K; k++) {
    let bv = load_b(bbase, k, n);
    for (var m = 0u; m < MV; m++) { acc[m] = fma(load_a(abase, m, k), bv, acc[m]); }
  }
  for (var m = 0u; m < MV; m++) { store_c(batch, m, n, acc[m]); }
}
