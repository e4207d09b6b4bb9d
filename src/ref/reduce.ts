// Float64 twins of src/kernels/reduce.ts.

/** Sum (or mean) over the last dimension of a [rows, cols] matrix. */
export function sumRowsRef(x: ArrayLike<number>, cols: number, opts: { mean?: boolean } = {}): Float64Array {
  const rows = x.length / cols;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c]!;
    out[r] = opts.mean ? s / cols : s;
  }
  return out;
}

export function sumAllRef(x: ArrayLike<number>, opts: { mean?: boolean } = {}): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return opts.mean ? s / Math.max(x.length, 1) : s;
}
