// Float64 twins of src/kernels/elementwise.ts (same argument order, results returned).

export function fillRef(n: number, value: number): Float64Array {
  return new Float64Array(n).fill(value);
}

export function addRef(a: ArrayLike<number>, b: ArrayLike<number>, alpha = 1, beta = 1): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => alpha * a[i]! + beta * b[i]!);
}

export function scaleRef(a: ArrayLike<number>, alpha: number): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => alpha * a[i]!);
}

export function addInplaceRef(a: ArrayLike<number>, out: ArrayLike<number>, alpha = 1, beta = 1): Float64Array {
  return addRef(a, out, alpha, beta);
}
