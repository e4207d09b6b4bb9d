// Row sums/means and full sums vs their float64 twins; determinism (same bits twice).
import { describe, expect, test } from "bun:test";
import { readTensor, tensorFrom, releaseTensor } from "../../src/gpu/index.ts";
import { sumAll, sumRows } from "../../src/kernels/reduce.ts";
import { sumAllRef, sumRowsRef } from "../../src/ref/reduce.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

describe("reduce", () => {
  for (const [rows, cols] of [[1, 1], [3, 37], [61, 1000], [129, 257], [2, 5000]] as const) {
    for (const mean of [false, true]) {
      test(`sumRows [${rows}, ${cols}] mean=${mean}`, async () => {
        const gpu = await testGpu();
        const xv = randomArray(rows * cols, rows + cols);
        const x = tensorFrom(gpu, xv, [rows, cols]);
        const out = poisoned(gpu, [rows]);
        sumRows(gpu, x, out, { mean });
        expectClose("sumRows.out", await readTensor(gpu, out), sumRowsRef(xv, cols, { mean }), [rows], 1e-5 * Math.sqrt(cols), 1e-5);
        releaseTensor(gpu, x);
        releaseTensor(gpu, out);
      });
    }
  }

  for (const n of [1, 4097, 100003, 20_000_001]) {
    test(`sumAll n=${n} (mean too), bit-identical when repeated`, async () => {
      const gpu = await testGpu();
      const xv = randomArray(n, n);
      const x = tensorFrom(gpu, xv, [n]);
      const out = poisoned(gpu, [1]);
      sumAll(gpu, x, out);
      const s1 = (await readTensor(gpu, out))[0]!;
      sumAll(gpu, x, out);
      const s2 = (await readTensor(gpu, out))[0]!;
      expect(Object.is(s1, s2)).toBe(true);
      expectClose("sumAll", [s1], [sumAllRef(xv)], [1], 1e-5 * Math.sqrt(n), 1e-5);
      sumAll(gpu, x, out, { mean: true });
      expectClose("meanAll", await readTensor(gpu, out), [sumAllRef(xv, { mean: true })], [1], 1e-6, 1e-4);
      releaseTensor(gpu, x);
      releaseTensor(gpu, out);
    });
  }

  test("out of the wrong size is an error", async () => {
    const gpu = await testGpu();
    const x = poisoned(gpu, [4, 6]);
    const out = poisoned(gpu, [5]);
    expect(() => sumRows(gpu, x, out)).toThrow("sumRows: x [4, 6] has 4 rows but out is [5]");
  });
});
