// Kernel self-check: each kernel against its float64 twin on seeded inputs of awkward sizes.
// Run by `longrl selfcheck` (the README's first command until the demo run replaces it) and
// by `longrl bench` before it times anything. Small shapes: it takes a second or two on lavapipe.
import type { Gpu } from "./gpu/context.ts";
import { readTensor, releaseTensor, tensorFrom, createTensor, type Tensor } from "./gpu/tensor.ts";
import { add, fill, scale } from "./kernels/elementwise.ts";
import { matmul } from "./kernels/matmul.ts";
import { sumAll, sumRows } from "./kernels/reduce.ts";
import { addRef, fillRef, scaleRef } from "./ref/elementwise.ts";
import { matmulRef } from "./ref/matmul.ts";
import { sumAllRef, sumRowsRef } from "./ref/reduce.ts";
import { randomFloats } from "./util/rng.ts";

export interface CheckResult {
  name: string;
  /** Largest |gpu - ref| / (atol + rtol·|ref|); <= 1 passes. */
  worst: number;
  ok: boolean;
}

/** Worst error relative to the tolerance (NaN counts as infinitely bad). */
export function worstError(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i]! - want[i]!);
    const r = diff === 0 ? 0 : diff / (atol + rtol * Math.abs(want[i]!));
    worst = Number.isNaN(r) ? Infinity : Math.max(worst, r);
  }
  return got.length === want.length ? worst : Infinity;
}

async function compare(gpu: Gpu, name: string, out: Tensor, want: ArrayLike<number>, atol: number, rtol: number): Promise<CheckResult> {
  const worst = worstError(await readTensor(gpu, out), want, atol, rtol);
  return { name, worst, ok: worst <= 1 };
}

export async function checkMatmul(gpu: Gpu, M: number, N: number, K: number, transA: boolean, transB: boolean): Promise<CheckResult> {
  const av = randomFloats(M * K, M + 3 * K);
  const bv = randomFloats(K * N, N + 5 * K);
  const a = tensorFrom(gpu, av, transA ? [K, M] : [M, K]);
  const b = tensorFrom(gpu, bv, transB ? [N, K] : [K, N]);
  const c = createTensor(gpu, [M, N]);
  fill(gpu, c, Number.NaN);
  matmul(gpu, a, b, c, { transA, transB });
  const name = `matmul ${M}x${N}x${K}${transA ? " Aᵀ" : ""}${transB ? " Bᵀ" : ""}`;
  const res = await compare(gpu, name, c, matmulRef(av, bv, M, N, K, { transA, transB }), 4e-5 * Math.sqrt(K + 1), 1e-4);
  for (const t of [a, b, c]) releaseTensor(gpu, t);
  return res;
}

export async function checkKernels(gpu: Gpu): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [M, N, K] of [[1, 1, 1], [37, 61, 53], [129, 257, 100]] as const) {
    for (const [ta, tb] of [[false, false], [false, true], [true, false]] as const) {
      results.push(await checkMatmul(gpu, M, N, K, ta, tb));
    }
  }
  const n = 1001;
  const av = randomFloats(n, 1);
  const bv = randomFloats(n, 2);
  const a = tensorFrom(gpu, av, [7, 143]);
  const b = tensorFrom(gpu, bv, [7, 143]);
  const out = createTensor(gpu, [7, 143]);
  fill(gpu, out, 0.25);
  results.push(await compare(gpu, `fill ${n}`, out, fillRef(n, 0.25), 0, 0));
  add(gpu, a, b, out, 1, -0.5);
  results.push(await compare(gpu, `add ${n}`, out, addRef(av, bv, 1, -0.5), 1e-6, 1e-6));
  scale(gpu, a, out, 3);
  results.push(await compare(gpu, `scale ${n}`, out, scaleRef(av, 3), 1e-6, 1e-6));
  const rows = createTensor(gpu, [7]);
  sumRows(gpu, a, rows, { mean: true });
  results.push(await compare(gpu, "mean rows 7x143", rows, sumRowsRef(av, 143, { mean: true }), 1e-6, 1e-5));
  const big = tensorFrom(gpu, randomFloats(100_003, 9), [100_003]);
  const total = createTensor(gpu, [1]);
  sumAll(gpu, big, total);
  results.push(await compare(gpu, "sum 100003", total, [sumAllRef(randomFloats(100_003, 9))], 1e-3, 1e-5));
  for (const t of [a, b, out, rows, big, total]) releaseTensor(gpu, t);
  return results;
}
