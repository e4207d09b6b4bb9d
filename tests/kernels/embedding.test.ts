// Embedding gather and its deterministic scatter-add backward vs the float64 twin: awkward sizes,
// repeated and unused ids, W split over several bindings, determinism, finite differences.
import { describe, expect, test } from "bun:test";
import { readTensor, releaseTensor, tensorFrom } from "../../src/gpu/index.ts";
import { embeddingBackward, embeddingForward, embeddingPlan } from "../../src/kernels/embedding.ts";
import { embeddingBackwardRef, embeddingForwardRef } from "../../src/ref/embedding.ts";
import { createRng } from "../../src/util/rng.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

/** N ids in [0, V): a third of them the same id (7 mod V), none in [V/2, V/2 + 50) (never used). */
function someIds(N: number, V: number, seed: number): Uint32Array {
  const rng = createRng(seed, 1);
  const ids = new Uint32Array(N);
  for (let t = 0; t < N; t++) {
    if (t % 3 === 0) ids[t] = 7 % V;
    else {
      let v = rng.int(V);
      while (v >= V / 2 && v < V / 2 + 50) v = rng.int(V);
      ids[t] = v;
    }
  }
  ids[N - 1] = V - 1; // the last row of W
  return ids;
}

/** Sum of |terms| bound for one dW element: f32 error of adding k terms of size <= 1 grows like k·eps. */
const backwardTol = (ids: Uint32Array) => {
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const most = Math.max(...counts.values());
  return { atol: 2e-7 * (most + 1), rtol: 2e-7 };
};

describe("embedding", () => {
  type Variant = "cpu" | "gpu" | undefined;
  const cases: [number, number, number | undefined, Variant][] = [
    [1003, 61, undefined, undefined], [1003, 64, undefined, undefined], [1003, 61, 61 * 4 * 100, undefined],
    [1003, 64, 64 * 4 * 333, undefined], [5, 3, undefined, undefined], [1003, 61, undefined, "gpu"], [1003, 64, 64 * 4 * 333, "gpu"],
    [1003, 64, undefined, "cpu"],
    // Several column passes per workgroup (CPU: 128 columns a pass), several column blocks (GPU: 1024).
    [1003, 260, undefined, "cpu"], [301, 1100, undefined, "gpu"], [301, 1101, undefined, "gpu"],
  ];
  for (const [V, C, bindingLimit, variant] of cases) {
    const split = (bindingLimit ? `, W split in ${Math.ceil(V / Math.floor(bindingLimit / (C * 4)))}+ ranges` : "") + (variant ? `, ${variant} variant` : "");
    test(`forward V=${V} C=${C}${split}: exact gather, out-of-vocab ids give zeros`, async () => {
      const gpu = await testGpu();
      const [B, T] = [3, 37];
      const idv = someIds(B * T, V, V + C);
      idv[5] = V; // out of the vocabulary
      idv[40] = 0xffffffff;
      const wv = randomArray(V * C, C);
      const ids = tensorFrom(gpu, idv, [B, T], "u32");
      const w = tensorFrom(gpu, wv, [V, C]);
      const out = poisoned(gpu, [B, T, C]);
      embeddingForward(gpu, ids, w, out, { bindingLimit, variant });
      expectClose("embedding.out", await readTensor(gpu, out), embeddingForwardRef(idv, wv, V, C), [B, T, C], 0, 0);
      for (const t of [ids, w, out]) releaseTensor(gpu, t);
    });

    test(`backward V=${V} C=${C}${split}: dW += segmented sums, unused rows untouched, same bits twice`, async () => {
      const gpu = await testGpu();
      const N = 37 * 3;
      const idv = someIds(N, V, 2 * V + C);
      const doutv = randomArray(N * C, 5);
      const dw0 = randomArray(V * C, 6);
      const dout = tensorFrom(gpu, doutv, [N, C]);
      const dw = tensorFrom(gpu, dw0, [V, C]);
      embeddingBackward(gpu, idv, dout, dw, { bindingLimit, variant });
      const got = (await readTensor(gpu, dw)) as Float32Array;
      const { atol, rtol } = backwardTol(idv);
      expectClose("embedding.dW", got, embeddingBackwardRef(idv, doutv, dw0, V, C), [V, C], atol, rtol);
      const used = new Set(idv);
      for (let v = 0; v < V; v++) {
        if (used.has(v)) continue;
        for (let c = 0; c < C; c++) {
          if (!Object.is(got[v * C + c], dw0[v * C + c])) throw new Error(`embedding.dW[${v},${c}]: unused row changed: ${got[v * C + c]} was ${dw0[v * C + c]}`);
        }
      }
      // Same inputs, same bits.
      const dw2 = tensorFrom(gpu, dw0, [V, C]);
      embeddingBackward(gpu, idv, dout, dw2, { bindingLimit, variant });
      const again = new Uint32Array(((await readTensor(gpu, dw2)) as Float32Array).buffer);
      expect(again).toEqual(new Uint32Array(got.buffer));
      for (const t of [dout, dw, dw2]) releaseTensor(gpu, t);
    });
  }

  test("backward with one id repeated at every position (one long segment)", async () => {
    const gpu = await testGpu();
    const [N, V, C] = [1000, 3, 36];
    const idv = new Uint32Array(N).fill(1);
    const doutv = randomArray(N * C, 8);
    const dw0 = new Float32Array(V * C);
    const dout = tensorFrom(gpu, doutv, [N, C]);
    const dw = tensorFrom(gpu, dw0, [V, C]);
    embeddingBackward(gpu, idv, dout, dw);
    expectClose("embedding.dW", await readTensor(gpu, dw), embeddingBackwardRef(idv, doutv, dw0, V, C), [V, C], 2e-7 * N, 0);
    releaseTensor(gpu, dout);
    releaseTensor(gpu, dw);
  });

  test("the plan sorts positions by id, then by position", () => {
    const { plan, segments, tokens } = embeddingPlan([5, 2, 5, 0, 2, 5]);
    expect(segments).toBe(3);
    expect([...tokens]).toEqual([0, 2, 5]);
    expect([...plan]).toEqual([0, 1, 3, 6, /* tokens */ 0, 2, 5, /* order */ 3, 1, 4, 0, 2, 5]);
  });

  test("the twin's backward agrees with finite differences of the twin's forward", () => {
    const [V, C] = [6, 3];
    const ids = [4, 1, 4, 4, 0];
    const w = Array.from(randomArray(V * C, 9), Number);
    const dout = Array.from(randomArray(ids.length * C, 10), Number);
    // L = sum(dout ⊙ W[ids]); dL/dW = the backward from zero.
    const loss = (x: number[]) => embeddingForwardRef(ids, x, V, C).reduce((s, v, i) => s + v * dout[i]!, 0);
    const dw = embeddingBackwardRef(ids, dout, new Float64Array(V * C), V, C);
    const h = 1e-6;
    for (let i = 0; i < w.length; i++) {
      const p = w.slice(); p[i]! += h;
      const m = w.slice(); m[i]! -= h;
      expect(Math.abs((loss(p) - loss(m)) / (2 * h) - dw[i]!)).toBeLessThan(1e-8);
    }
  });

  test("mismatched shapes and out-of-vocab ids are errors naming the op and the shapes, before any dispatch", async () => {
    const gpu = await testGpu();
    const ids = tensorFrom(gpu, [1, 2, 3], [3], "u32");
    const w = poisoned(gpu, [10, 8]);
    const out = poisoned(gpu, [3, 7]);
    const before = gpu.recorder.total;
    expect(() => embeddingForward(gpu, ids, w, out)).toThrow("embeddingForward: shapes do not match (ids [3], W [10, 8], out [3, 7]): need out [3, 8]");
    expect(() => embeddingBackward(gpu, new Uint32Array([1, 2]), out, w)).toThrow("embeddingBackward: shapes do not match (ids [2], dout [3, 7], dW [10, 8]): need dout [2, 8]");
    const dout = poisoned(gpu, [2, 8]);
    expect(() => embeddingBackward(gpu, new Uint32Array([1, 10]), dout, w)).toThrow("embeddingBackward: ids[1] = 10 is outside the vocabulary of 10");
    expect(gpu.recorder.total).toBe(before);
    for (const t of [ids, w, out, dout]) releaseTensor(gpu, t);
  });
});
