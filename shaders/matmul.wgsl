// Batched f32 matmul with register tiles: C[b] = alpha * op(A[b]) · op(B[b]) (+ beta * C[b]).
// op(A) is [M, K]: A is stored [M, K] (TA = false) or [K, M] (TA = true, i.e. Aᵀ·B).
// op(B) is [K, N]: B is stored [K, N] (TB = false) or [N, K] (TB = true, i.e. A·Bᵀ).
// Bindings: 0 params; 1 a (f32 view), 2 a4 (vec4 view of the same buffer); 3 b, 4 b4 likewise;
//           5 c [batch, M, N] (read_write).
// Overrides: TA, TB (layouts above); VA, VB: the operand's contiguous dimension and batch stride
// are multiples of 4, so it may be read as vec4; ACC: add beta * C instead of overwriting;
// WGX, WGY: workgroup shape.
// Each invocation computes a 4 x 8 tile of C, reading K in blocks of 4: on lavapipe the cost is
// loads per FMA (shared/perf.md), so the tile is held in 8 vec4 registers and nothing goes
// through workgroup memory. Rows and columns past the edge are clamped for loading (no branches
// in the K loop) and skipped when storing.
// Grid: [ceil(N / (8*WGX)), ceil(M / (4*WGY)), batch].

struct Params { M: u32, N: u32, K: u32, sa: u32, sb: u32, sc: u32, alpha: f32, beta: f32 }

override TA: bool = false;
override TB: bool = false;
override VA: bool = false;
override VB: bool = false;
override ACC: bool = false;
override WGX: u32 = 8u;
override WGY: u32 = 8u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> a4: array<vec4f>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> b4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;

// op(A)[m, k] as a scalar.
fn load_a(base: u32, m: u32, k: u32) -> f32 {
  if (TA) { return a[base + k * p.M + m]; }
  return a[base + m * p.K + k];
}

// op(B)[k, n] as a scalar.
fn load_b(base: u32, k: u32, n: u32) -> f32 {
  if (TB) { return b[base + n * p.K + k]; }
  return b[base + k * p.N + n];
}

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
    // A block: ablk[i] = op(A)[row i, k .. k+3]
    var ablk: array<vec4f, 4>;
    if (!TA && VA) {
      for (var i = 0u; i < 4u; i++) { ablk[i] = a4[(abase + rows[i] * K + k) >> 2u]; }
    } else if (TA && VA) {
      let v0 = a4[(abase + k * M + row4) >> 2u];
      let v1 = a4[(abase + (k + 1u) * M + row4) >> 2u];
      let v2 = a4[(abase + (k + 2u) * M + row4) >> 2u];
      let v3 = a4[(abase + (k + 3u) * M + row4) >> 2u];
      // row4 may sit below row0 at the bottom edge; pick the lanes of rows[i].
      for (var i = 0u; i < 4u; i++) {
        let l = rows[i] - row4;
        ablk[i] = vec4f(v0[l], v1[l], v2[l], v3[l]);
      }
    } else {
      for (var i = 0u; i < 4u; i++) {
        ablk[i] = vec4f(load_a(abase, rows[i], k), load_a(abase, rows[i], k + 1u),
                        load_a(abase, rows[i], k + 2u), load_a(abase, rows[i], k + 3u));
      }
    }
    // B block: blo[kk], bhi[kk] = op(B)[k + kk, col0 .. col0 + 3], [col0 + 4 .. col0 + 7]
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
        let av = ablk[i][kk];
        acc[2u * i] = fma(vec4f(av), blo[kk], acc[2u * i]);
        acc[2u * i + 1u] = fma(vec4f(av), bhi[kk], acc[2u * i + 1u]);
      }
    }
  }
  // K % 4 tail, scalar.
  for (var k = kmain; k < K; k++) {
    let lo = vec4f(load_b(bbase, k, cols[0]), load_b(bbase, k, cols[1]), load_b(bbase, k, cols[2]), load_b(bbase, k, cols[3]));
    let hi = vec4f(load_b(bbase, k, cols[4]), load_b(bbase, k, cols[5]), load_b(bbase, k, cols[6]), load_b(bbase, k, cols[7]));
    for (var i = 0u; i < 4u; i++) {
      let av = vec4f(load_a(abase, rows[i], k));
      acc[2u * i] = fma(av, lo, acc[2u * i]);
      acc[2u * i + 1u] = fma(av, hi, acc[2u * i + 1u]);
    }
  }

  let cbase = batch * p.sc;
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + i;
    if (r >= M) { break; }
    for (var j = 0u; j < 8u; j++) {
      let col = col0 + j;
      if (col < N) {
        let idx = cbase + r * N + col;
        var v = p.alpha * acc[2u * i + (j >> 2u)][j & 3u];
        if (ACC) { v += p.beta * c[idx]; }
        c[idx] = v;
      }
    }
  }
}

// At the right edge the vec4 start is clamped left (start < want); shift lanes so that lane j
// holds column want + j. Columns past N get a duplicate that is never stored.
fn shift_edge(v: vec4f, want: u32, start: u32) -> vec4f {
  if (start == want) { return v; }
  let s = min(want - start, 3u);
  if (s == 1u) { return vec4f(v.y, v.z, v.w, v.w); }
  if (s == 2u) { return vec4f(v.z, v.w, v.w, v.w); }
  return vec4f(v.w, v.w, v.w, v.w);
}
