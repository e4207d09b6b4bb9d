// Float64 twin of src/kernels/rope.ts (same argument order; x's shape passed explicitly; the
// rotated copy is returned). Angles pos · θ^(−2i/D) in float64, rotate-half pairs (i, i + D/2).

export interface RopeRefOptions {
  headDim: number;
  theta: number;
  offset?: number;
  /** Per-row positions (one per row of x). */
  positions?: ArrayLike<number>;
}

function rotateRef(x: ArrayLike<number>, shape: readonly number[], opts: RopeRefOptions, sign: number): Float64Array {
  const D = opts.headDim;
  const HD = shape[shape.length - 1]!;
  const T = shape[shape.length - 2]!;
  const rows = x.length / HD;
  const half = D / 2;
  const out = Float64Array.from(x);
  for (let r = 0; r < rows; r++) {
    const pos = opts.positions ? opts.positions[r]! : (opts.offset ?? 0) + (r % T);
    for (let i = 0; i < half; i++) {
      const a = pos * Math.pow(opts.theta, (-2 * i) / D);
      const c = Math.cos(a);
      const s = sign * Math.sin(a);
      for (let h = r * HD; h < (r + 1) * HD; h += D) {
        const lo = x[h + i]!;
        const hi = x[h + i + half]!;
        out[h + i] = lo * c - hi * s;
        out[h + i + half] = hi * c + lo * s;
      }
    }
  }
  return out;
}

/** x [..., T, H·D] rotated by its positions. */
export function ropeForwardRef(x: ArrayLike<number>, shape: readonly number[], opts: RopeRefOptions): Float64Array {
  return rotateRef(x, shape, opts, 1);
}

/** The gradient with respect to x given dy: the inverse rotation of dy. */
export function ropeBackwardRef(dy: ArrayLike<number>, shape: readonly number[], opts: RopeRefOptions): Float64Array {
  return rotateRef(dy, shape, opts, -1);
}
