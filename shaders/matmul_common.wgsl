// Shared by shaders/matmul.wgsl and shaders/matmul_subgroup.wgsl (spliced in by `// #include`):
// the Params, overrides and bindings of the matmul family, operand loads, and the store of C.
// Bindings: 0 params; 1 a (f32 view), 2 a4 (vec4 view of the same buffer); 3 b, 4 b4 likewise;
//           5 c [batch, M, N] (read_write); 6 bias [N] (read; used when BIAS).
// op(A) is [M, K]: A stored [M, K], or [K, M] with TA. op(B) is [K, N]: B stored [K, N], or [N, K]
// with TB. VA, VB: the operand's contiguous dimension and batch stride are multiples of 4 (vec4
// reads allowed). ACC: C = alpha·op(A)·op(B) + beta·C. BIAS: add bias[n] to every row.

struct Params { M: u32, N: u32, K: u32, sa: u32, sb: u32, sc: u32, alpha: f32, beta: f32 }

override TA: bool = false;
override TB: bool = false;
override VA: bool = false;
override VB: bool = false;
override ACC: bool = false;
override BIAS: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> a4: array<vec4f>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> b4: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
@group(0) @binding(6) var<storage, read> bias: array<f32>;

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

// op(A)[rows[i], k .. k+3] for the 4 (clamped) rows of a register tile; row4 = min(row0, M - 4).
fn load_a_block(abase: u32, rows: array<u32, 4>, row4: u32, k: u32) -> array<vec4f, 4> {
  var blk: array<vec4f, 4>;
  if (!TA && VA) {
    for (var i = 0u; i < 4u; i++) { blk[i] = a4[(abase + rows[i] * p.K + k) >> 2u]; }
  } else if (TA && VA) {
    let v0 = a4[(abase + k * p.M + row4) >> 2u];
    let v1 = a4[(abase + (k + 1u) * p.M + row4) >> 2u];
    let v2 = a4[(abase + (k + 2u) * p.M + row4) >> 2u];
    let v3 = a4[(abase + (k + 3u) * p.M + row4) >> 2u];
    // row4 may sit below row0 at the bottom edge; pick the lanes of rows[i].
    for (var i = 0u; i < 4u; i++) {
      let l = rows[i] - row4;
      blk[i] = vec4f(v0[l], v1[l], v2[l], v3[l]);
    }
  } else {
    for (var i = 0u; i < 4u; i++) {
      blk[i] = vec4f(load_a(abase, rows[i], k), load_a(abase, rows[i], k + 1u),
                     load_a(abase, rows[i], k + 2u), load_a(abase, rows[i], k + 3u));
    }
  }
  return blk;
}

// acc[2i + h] += op(A)[rows[i], k] * op(B)[k, cols[4h .. 4h+3]] for k in [k0, K): the K % 4 tail.
fn tail_k(acc: ptr<function, array<vec4f, 8>>, abase: u32, bbase: u32, rows: array<u32, 4>, cols: array<u32, 8>, k0: u32) {
  for (var k = k0; k < p.K; k++) {
    let lo = vec4f(load_b(bbase, k, cols[0]), load_b(bbase, k, cols[1]), load_b(bbase, k, cols[2]), load_b(bbase, k, cols[3]));
    let hi = vec4f(load_b(bbase, k, cols[4]), load_b(bbase, k, cols[5]), load_b(bbase, k, cols[6]), load_b(bbase, k, cols[7]));
    for (var i = 0u; i < 4u; i++) {
      let av = vec4f(load_a(abase, rows[i], k));
      (*acc)[2u * i] = fma(av, lo, (*acc)[2u * i]);
      (*acc)[2u * i + 1u] = fma(av, hi, (*acc)[2u * i + 1u]);
    }
  }
}

// Writes alpha * value (+ bias) (+ beta * C) to C[batch, r, col] when col is inside C.
fn store_c(batch: u32, r: u32, col: u32, value: f32) {
  if (col >= p.N) { return; }
  let idx = batch * p.sc + r * p.N + col;
  var v = p.alpha * value;
  if (BIAS) { v += bias[col]; }
  if (ACC) { v += p.beta * c[idx]; }
  c[idx] = v;
}

// Stores a 4 x 8 register tile at (row0, col0); rows past M are skipped.
fn store_tile(batch: u32, row0: u32, col0: u32, acc: array<vec4f, 8>) {
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < 8u; j++) {
      store_c(batch, r, col0 + j, acc[2u * i + (j >> 2u)][j & 3u]);
    }
  }
}

// At the right edge a vec4 read starts clamped left of `want`; shift lanes so that lane j holds
// column want + j. Columns past N get a duplicate that is never stored.
fn shift_edge(v: vec4f, want: u32, start: u32) -> vec4f {
  if (start == want) { return v; }
  let s = min(want - start, 3u);
  if (s == 1u) { return vec4f(v.y, v.z, v.w, v.w); }
  if (s == 2u) { return vec4f(v.z, v.w, v.w, v.w); }
  return vec4f(v.w, v.w, v.w, v.w);
}
