// matmul vs its float64 twin at awkward sizes, all transpose variants, batched, accumulate, backward.
import { describe, expect, test } from "bun:test";
import { createTensor, readTensor, tensorFrom, releaseTensor } from "../../src/gpu/index.ts";
import { defaultMatmulVariant, hasSubgroupsOf8, matmul, matmulBackward, subgroupWgy } from "../../src/kernels/matmul.ts";
import { matmulRef, matmulBackwardRef } from "../../src/ref/matmul.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

// f32 accumulation over K terms of magnitude <= 1: error grows like sqrt(K)·eps.
const tol = (K: number) => ({ atol: 1e-5 * Math.sqrt(K + 1) * 4, rtol: 1e-4 });

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [37, 61, 53],
  [129, 257, 1000],
  [8, 8, 8],
  [3, 5, 7],
  [64, 4, 12],
];

describe("matmul", () => {
  for (const [M, N, K] of SIZES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        test(`${M}x${N}x${K} transA=${transA} transB=${transB}`, async () => {
          const gpu = await testGpu();
          const av = randomArray(M * K, M * 7 + K);
          const bv = randomArray(K * N, N * 11 + K);
          const a = tensorFrom(gpu, av, transA ? [K, M] : [M, K]);
          const b = tensorFrom(gpu, bv, transB ? [N, K] : [K, N]);
          const c = poisoned(gpu, [M, N]);
          matmul(gpu, a, b, c, { transA, transB });
          const got = await readTensor(gpu, c);
          const want = matmulRef(av, bv, M, N, K, { transA, transB });
          const { atol, rtol } = tol(K);
          expectClose(`matmul.C`, got, want, [M, N], atol, rtol);
          for (const t of [a, b, c]) releaseTensor(gpu, t);
        });
      }
    }
  }

  // matvec takes M <= 8 rows (decoding): its sizes cover the vec4 path (transB, K % 4 == 0), the scalar one and odd N.
  // M = 44 and 4 (multiples of 4, not of 16) take the vec4 path of transA with a clamped bottom edge.
  const VARIANT_SIZES = [[37, 61, 53], [129, 67, 100], [1, 1, 1], [44, 67, 102], [4, 19, 9]] as const;
  const MATVEC_SIZES = [[1, 61, 53], [3, 67, 100], [8, 129, 64], [1, 1, 1], [5, 1000, 7]] as const;
  for (const variant of ["register", "subgroup", "tiled", "matvec"] as const) {
    for (const [M, N, K] of variant === "matvec" ? MATVEC_SIZES : VARIANT_SIZES) {
      for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        test(`variant ${variant} ${M}x${N}x${K} transA=${transA} transB=${transB}, bias and accumulate`, async () => {
          const gpu = await testGpu();
          const av = randomArray(M * K, 21);
          const bv = randomArray(K * N, 22);
          const biasv = randomArray(N, 23);
          const cv = randomArray(M * N, 24);
          const a = tensorFrom(gpu, av, transA ? [K, M] : [M, K]);
          const b = tensorFrom(gpu, bv, transB ? [N, K] : [K, N]);
          const bias = tensorFrom(gpu, biasv, [N]);
          const c = poisoned(gpu, [M, N]);
          matmul(gpu, a, b, c, { transA, transB, variant, bias });
          const { atol, rtol } = tol(K);
          expectClose(`matmul.${variant}.C`, await readTensor(gpu, c), matmulRef(av, bv, M, N, K, { transA, transB, bias: biasv }), [M, N], atol, rtol);
          const c2 = tensorFrom(gpu, cv, [M, N]);
          matmul(gpu, a, b, c2, { transA, transB, variant, alpha: 2, beta: -1 });
          expectClose(`matmul.${variant}.acc`, await readTensor(gpu, c2), matmulRef(av, bv, M, N, K, { transA, transB, alpha: 2, beta: -1 }, cv), [M, N], 2 * atol, rtol);
          for (const t of [a, b, bias, c, c2]) releaseTensor(gpu, t);
        });
      }
    }
  }

  test("subgroup variant: narrow N gets fewer subgroups per workgroup; any count gives the same C", async () => {
    expect([1, 16, 17, 61, 64, 67, 128, 200, 352, 1547].map(subgroupWgy)).toEqual([1, 1, 2, 4, 4, 5, 8, 7, 8, 8]);
    const gpu = await testGpu();
    if (!hasSubgroupsOf8(gpu)) return expect(defaultMatmulVariant(gpu, 100)).not.toBe("subgroup");
    const [M, N, K] = [37, 61, 53];
    const av = randomArray(M * K, 31);
    const bv = randomArray(K * N, 32);
    const a = tensorFrom(gpu, av, [M, K]);
    const b = tensorFrom(gpu, bv, [N, K]);
    const want = matmulRef(av, bv, M, N, K, { transB: true });
    for (const subgroups of [1, 3, 8]) {
      const c = poisoned(gpu, [M, N]);
      matmul(gpu, a, b, c, { transB: true, variant: "subgroup", subgroups });
      const { atol, rtol } = tol(K);
      expectClose(`matmul.subgroups${subgroups}.C`, await readTensor(gpu, c), want, [M, N], atol, rtol);
      releaseTensor(gpu, c);
    }
    expect(() => matmul(gpu, a, b, createTensor(gpu, [M, N]), { transB: true, variant: "subgroup", subgroups: 0 })).toThrow("matmul: subgroups 0 per workgroup; give an integer in 1..32");
  });

  test("subgroup variant: Aᵀ read through shared vec4 loads gives the scalar-load path's C bit for bit", async () => {
    const gpu = await testGpu();
    if (!hasSubgroupsOf8(gpu)) return expect(defaultMatmulVariant(gpu, 100)).not.toBe("subgroup");
    // M = 60: the last subgroup's 16 rows run past M, so its vec4 reads clamp at the bottom edge.
    for (const [M, N, K] of [[60, 37, 102], [16, 128, 8]] as const) {
      const av = randomArray(M * K, 33);
      const bv = randomArray(K * N, 34);
      const a = tensorFrom(gpu, av, [K, M]);
      const b = tensorFrom(gpu, bv, [K, N]);
      const shared = poisoned(gpu, [M, N]);
      const scalar = poisoned(gpu, [M, N]);
      matmul(gpu, a, b, shared, { transA: true, variant: "subgroup" });
      matmul(gpu, a, b, scalar, { transA: true, variant: "subgroup", scalarA: true });
      const got = await readTensor(gpu, shared);
      const { atol, rtol } = tol(K);
      expectClose(`matmul.sharedA.C`, got, matmulRef(av, bv, M, N, K, { transA: true }), [M, N], atol, rtol);
      expect(Array.from(got)).toEqual(Array.from(await readTensor(gpu, scalar)));
      for (const t of [a, b, shared, scalar]) releaseTensor(gpu, t);
    }
  });

  test("matvec: batched (z of the grid) and refused past 8 rows", async () => {
    const gpu = await testGpu();
    const [Bt, M, N, K] = [3, 2, 70, 36];
    const av = randomArray(Bt * M * K, 41);
    const bv = randomArray(Bt * N * K, 42);
    const a = tensorFrom(gpu, av, [Bt, M, K]);
    const b = tensorFrom(gpu, bv, [Bt, N, K]);
    const c = poisoned(gpu, [Bt, M, N]);
    matmul(gpu, a, b, c, { transB: true, variant: "matvec" });
    const got = await readTensor(gpu, c);
    for (let i = 0; i < Bt; i++) {
      const want = matmulRef(av.slice(i * M * K, (i + 1) * M * K), bv.slice(i * N * K, (i + 1) * N * K), M, N, K, { transB: true });
      expectClose(`matmul.matvec.batch${i}`, got.slice(i * M * N, (i + 1) * M * N), want, [M, N], 1e-5, 1e-5);
    }
    const big = tensorFrom(gpu, randomArray(9 * K, 43), [9, K]);
    const b2 = tensorFrom(gpu, bv.slice(0, N * K), [N, K]);
    expect(() => matmul(gpu, big, b2, poisoned(gpu, [9, N]), { transB: true, variant: "matvec" })).toThrow("at most 8 rows");
    for (const t of [a, b, c, big, b2]) releaseTensor(gpu, t);
  });

  test("batched with a shared B, alpha and accumulate (beta)", async () => {
    const gpu = await testGpu();
    const [batch, M, N, K] = [3, 37, 29, 45];
    const av = randomArray(batch * M * K, 1);
    const bv = randomArray(K * N, 2);
    const cv = randomArray(batch * M * N, 3);
    const a = tensorFrom(gpu, av, [batch, M, K]);
    const b = tensorFrom(gpu, bv, [K, N]);
    const c = tensorFrom(gpu, cv, [batch, M, N]);
    matmul(gpu, a, b, c, { alpha: 0.5, beta: 1 });
    const got = await readTensor(gpu, c);
    const want = matmulRef(av, bv, M, N, K, { batch, shareB: true, alpha: 0.5, beta: 1 }, cv);
    expectClose("matmul.batched.C", got, want, [batch, M, N], 1e-4, 1e-4);
  });

  test("backward: dA = dC·Bᵀ, dB = Aᵀ·dC, matches the twin", async () => {
    const gpu = await testGpu();
    const [M, N, K] = [33, 47, 21];
    const av = randomArray(M * K, 4);
    const bv = randomArray(K * N, 5);
    const dcv = randomArray(M * N, 6);
    const a = tensorFrom(gpu, av, [M, K]);
    const b = tensorFrom(gpu, bv, [K, N]);
    const dc = tensorFrom(gpu, dcv, [M, N]);
    const da = poisoned(gpu, [M, K]);
    const db = poisoned(gpu, [K, N]);
    matmulBackward(gpu, a, b, dc, da, db);
    const ref = matmulBackwardRef(av, bv, dcv, M, N, K);
    expectClose("matmul.dA", await readTensor(gpu, da), ref.da, [M, K], 1e-4, 1e-4);
    expectClose("matmul.dB", await readTensor(gpu, db), ref.db, [K, N], 1e-4, 1e-4);
  });

  test("the twin's backward agrees with finite differences of the twin's forward", () => {
    const [M, N, K] = [3, 4, 5];
    const a = Array.from(randomArray(M * K, 7), Number);
    const b = Array.from(randomArray(K * N, 8), Number);
    const dc = Array.from(randomArray(M * N, 9), Number);
    // L = sum(dC ⊙ (A·B)); dL/dA = dA, dL/dB = dB.
    const loss = (x: number[], y: number[]) => matmulRef(x, y, M, N, K).reduce((s, v, i) => s + v * dc[i]!, 0);
    const { da, db } = matmulBackwardRef(a, b, dc, M, N, K);
    const h = 1e-6;
    for (let i = 0; i < a.length; i++) {
      const p = a.slice(); p[i]! += h;
      const m = a.slice(); m[i]! -= h;
      expect(Math.abs((loss(p, b) - loss(m, b)) / (2 * h) - da[i]!)).toBeLessThan(1e-6);
    }
    for (let i = 0; i < b.length; i++) {
      const p = b.slice(); p[i]! += h;
      const m = b.slice(); m[i]! -= h;
      expect(Math.abs((loss(a, p) - loss(a, m)) / (2 * h) - db[i]!)).toBeLessThan(1e-6);
    }
  });

  test("mismatched shapes are an error naming the op and both shapes, before any dispatch", async () => {
    const gpu = await testGpu();
    const a = poisoned(gpu, [4, 5]);
    const b = poisoned(gpu, [6, 7]);
    const c = poisoned(gpu, [4, 7]);
    const before = gpu.recorder.total;
    expect(() => matmul(gpu, a, b, c)).toThrow(/matmul: shapes do not match \(A \[4, 5\], B \[6, 7\], C \[4, 7\]\)/);
    expect(gpu.recorder.total).toBe(before);
  });
});
