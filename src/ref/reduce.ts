// Float64 twins of src/kernels/reduce.ts.

export interface SumOptions {
  mean?: boolean;
  /** Sum x² instead of x. */
  square?: boolean;
}

/** Sum (mean, sum of squares, mean square) over the last dimension of a [rows, cols] matrix. */
export function sumRowsRef(x: ArrayLike<number>, cols: number, opts: SumOptions = {}): Float64Array {
  const rows = x.length / cols;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c]!;
      s += opts.square ? v * v : v;
    }
    out[r] = opts.mean ? s / cols : s;
  }
  return out;
}

/** Max over the last dimension of a [rows, cols] matrix (cols >= 1). */
export function maxRowsRef(x: ArrayLike<number>, cols: number): Float64Array {
  const rows = x.length / cols;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]!);
    out[r] = m;
  }
  return out;
}

export function sumAllRef(x: ArrayLike<number>, opts: SumOptions = {}): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += opts.square ? x[i]! * x[i]! : x[i]!;
  return opts.mean ? s / Math.max(x.length, 1) : s;
}
