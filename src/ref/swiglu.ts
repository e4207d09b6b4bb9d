// Float64 twin of src/kernels/swiglu.ts (same argument order; results returned).

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** out = silu(g) ⊙ u, silu(x) = x·σ(x). */
export function swigluForwardRef(g: ArrayLike<number>, u: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: g.length }, (_, i) => g[i]! * sigmoid(g[i]!) * u[i]!);
}

/** dg = dout·u·σ(g)·(1 + g·(1 − σ(g))), du = dout·silu(g). */
export function swigluBackwardRef(g: ArrayLike<number>, u: ArrayLike<number>, dout: ArrayLike<number>): { dg: Float64Array; du: Float64Array } {
  const n = g.length;
  const dg = new Float64Array(n);
  const du = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = sigmoid(g[i]!);
    dg[i] = dout[i]! * u[i]! * s * (1 + g[i]! * sigmoid(-g[i]!));
    du[i] = dout[i]! * g[i]! * s;
  }
  return { dg, du };
}
