// Float64 twin of src/kernels/embedding.ts (same argument order; results returned).
// Letters: N tokens, V vocab, C channels.

/** out [N, C] = W[ids[t], :]; w is [V, C]; an id >= V gives zeros (as the kernel does). */
export function embeddingForwardRef(ids: ArrayLike<number>, w: ArrayLike<number>, V: number, C: number): Float64Array {
  const N = ids.length;
  const out = new Float64Array(N * C);
  for (let t = 0; t < N; t++) {
    const id = ids[t]!;
    if (id >= V) continue;
    for (let c = 0; c < C; c++) out[t * C + c] = w[id * C + c]!;
  }
  return out;
}

/** dW [V, C] = dw0 + sum over t with ids[t] == v of dout[t, :]. */
export function embeddingBackwardRef(ids: ArrayLike<number>, dout: ArrayLike<number>, dw0: ArrayLike<number>, V: number, C: number): Float64Array {
  const dw = Float64Array.from(dw0);
  if (dw.length !== V * C) throw new Error(`embeddingBackwardRef: dw0 has ${dw.length} values, need ${V * C}`);
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]!;
    for (let c = 0; c < C; c++) dw[id * C + c] += dout[t * C + c]!;
  }
  return dw;
}
