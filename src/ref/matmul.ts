// Float64 twin of src/kernels/matmul.ts (same argument order), for tests and `longrl bench`.
// Matrices are flat row-major arrays; a batch is a leading dimension of size `batch`.

export interface MatmulRefOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  /** Batch count; A or B with batch stride 0 are shared by all entries. */
  batch?: number;
  shareA?: boolean;
  shareB?: boolean;
  /** Bias [N] added to every row. */
  bias?: ArrayLike<number>;
}

/** C = alpha·op(A)·op(B) + beta·C on [M, K] · [K, N] (returned; c0 is the initial C for beta). */
export function matmulRef(
  a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number,
  opts: MatmulRefOptions = {}, c0?: ArrayLike<number>,
): Float64Array {
  const batch = opts.batch ?? 1;
  const beta = opts.beta ?? 0;
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const idx = z * M * N + m * N + n;
        out[idx] = matmulRefAt(a, b, M, N, K, opts, z, m, n) + (opts.bias ? opts.bias[n]! : 0) + (beta !== 0 && c0 ? beta * c0[idx]! : 0);
      }
    }
  }
  return out;
}

/** dA = dC·Bᵀ [M, K] and dB = Aᵀ·dC [K, N] for C = A·B. */
export function matmulBackwardRef(
  a: ArrayLike<number>, b: ArrayLike<number>, dc: ArrayLike<number>, M: number, N: number, K: number,
): { da: Float64Array; db: Float64Array } {
  return {
    da: matmulRef(dc, b, M, K, N, { transB: true }),
    db: matmulRef(a, dc, K, N, M, { transA: true }),
  };
}

/** One element C[z, m, n] of alpha·op(A)·op(B) (no beta), for spot checks of large products. */
export function matmulRefAt(
  a: ArrayLike<number>, b: ArrayLike<number>, M: number, N: number, K: number, opts: MatmulRefOptions, z: number, m: number, n: number,
): number {
  const sa = opts.shareA ? 0 : M * K;
  const sb = opts.shareB ? 0 : K * N;
  let s = 0;
  for (let k = 0; k < K; k++) {
    const av = opts.transA ? a[z * sa + k * M + m]! : a[z * sa + m * K + k]!;
    const bv = opts.transB ? b[z * sb + n * K + k]! : b[z * sb + k * N + n]!;
    s += av * bv;
  }
  return (opts.alpha ?? 1) * s;
}
