// Float64 twin of src/kernels/rmsnorm.ts (same argument order; results returned).
// Letters: N rows, C channels. Math: see shaders/rmsnorm.wgsl.

/** y [N, C] and rstd [N] of y = x / sqrt(mean(x²) + eps) · w. */
export function rmsnormForwardRef(x: ArrayLike<number>, w: ArrayLike<number>, C: number, eps: number): { y: Float64Array; rstd: Float64Array } {
  const N = x.length / C;
  const y = new Float64Array(N * C);
  const rstd = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x[r * C + c]! ** 2;
    const rs = 1 / Math.sqrt(ss / C + eps);
    rstd[r] = rs;
    for (let c = 0; c < C; c++) y[r * C + c] = x[r * C + c]! * rs * w[c]!;
  }
  return { y, rstd };
}

/**
 * dx [N, C] and dw [C] given dy; rstd as the forward returned it. dx0/dw0, when given, are added
 * (the kernel's accumulateDx / accumulate options).
 */
export function rmsnormBackwardRef(
  x: ArrayLike<number>, w: ArrayLike<number>, rstd: ArrayLike<number>, dy: ArrayLike<number>, C: number,
  dx0?: ArrayLike<number>, dw0?: ArrayLike<number>,
): { dx: Float64Array; dw: Float64Array } {
  const N = x.length / C;
  const dx = dx0 ? Float64Array.from(dx0) : new Float64Array(N * C);
  const dw = dw0 ? Float64Array.from(dw0) : new Float64Array(C);
  for (let r = 0; r < N; r++) {
    const rs = rstd[r]!;
    let s = 0;
    for (let c = 0; c < C; c++) s += dy[r * C + c]! * w[c]! * x[r * C + c]!;
    for (let c = 0; c < C; c++) {
      const i = r * C + c;
      dx[i] += rs * w[c]! * dy[i]! - (rs * rs * rs * x[i]! * s) / C;
      dw[c] += dy[i]! * x[i]! * rs;
    }
  }
  return { dx, dw };
}
