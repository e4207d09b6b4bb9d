// fill, add, scale, addInplace vs their float64 twins, at awkward sizes and past the 65,535-workgroup fold.
import { describe, expect, test } from "bun:test";
import { readTensor, tensorFrom, releaseTensor, createTensor } from "../../src/gpu/index.ts";
import { add, addInplace, fill, scale } from "../../src/kernels/elementwise.ts";
import { addRef, addInplaceRef, fillRef, scaleRef } from "../../src/ref/elementwise.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

describe("elementwise", () => {
  for (const n of [1, 37, 1000, 65537]) {
    test(`n=${n}: fill, add, scale, addInplace`, async () => {
      const gpu = await testGpu();
      const av = randomArray(n, n);
      const bv = randomArray(n, n + 1);
      const a = tensorFrom(gpu, av, [n]);
      const b = tensorFrom(gpu, bv, [n]);
      const out = poisoned(gpu, [n]);
      fill(gpu, out, 2.5);
      expectClose("fill", await readTensor(gpu, out), fillRef(n, 2.5), [n], 0, 0);
      add(gpu, a, b, out, 0.5, -2);
      expectClose("add", await readTensor(gpu, out), addRef(av, bv, 0.5, -2), [n], 1e-6, 1e-6);
      scale(gpu, a, out, -3);
      expectClose("scale", await readTensor(gpu, out), scaleRef(av, -3), [n], 1e-6, 1e-6);
      const before = await readTensor(gpu, out);
      addInplace(gpu, b, out, 2, 0.25);
      expectClose("addInplace", await readTensor(gpu, out), addInplaceRef(bv, before, 2, 0.25), [n], 1e-6, 1e-6);
      for (const t of [a, b, out]) releaseTensor(gpu, t);
    });
  }

  test("a grid over 65,535 workgroups is folded and every element is written", async () => {
    const gpu = await testGpu();
    const n = 65535 * 256 + 4099; // 65,552 workgroups of 256
    const out = poisoned(gpu, [n]);
    fill(gpu, out, 7);
    const got = await readTensor(gpu, out);
    let bad = -1;
    for (let i = 0; i < n; i++) if (got[i] !== 7) { bad = i; break; }
    expect(bad).toBe(-1);
    releaseTensor(gpu, out);
  });

  test("sizes that differ are an error naming the op and the shapes", async () => {
    const gpu = await testGpu();
    const a = createTensor(gpu, [3, 4]);
    const b = createTensor(gpu, [5]);
    expect(() => add(gpu, a, b, a)).toThrow("add: sizes differ ([3, 4] vs [5] vs [3, 4])");
  });
});
