// Row sums/means/sums of squares/maxima and full sums vs their float64 twins; determinism (same
// bits twice); reductions split over binding ranges give the same bits as unsplit ones.
import { describe, expect, test } from "bun:test";
import { readTensor, tensorFrom, releaseTensor } from "../../src/gpu/index.ts";
import { bindingRanges, chunkSums, maxRows, reduceShape, sumAll, sumInto, sumRows } from "../../src/kernels/reduce.ts";
import { maxRowsRef, sumAllRef, sumRowsRef } from "../../src/ref/reduce.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

/** Exact equality, -inf included (a max is one of its inputs, so there is no rounding). */
function expectSame(name: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${name}[${i}]: gpu ${got[i]} ref ${want[i]}`);
  }
}

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

  for (const [rows, cols] of [[1, 1], [3, 37], [61, 1000], [2, 5000]] as const) {
    test(`sumRows square [${rows}, ${cols}] (mean square too)`, async () => {
      const gpu = await testGpu();
      const xv = randomArray(rows * cols, 3 * rows + cols, 2);
      const x = tensorFrom(gpu, xv, [rows, cols]);
      for (const mean of [false, true]) {
        const out = poisoned(gpu, [rows]);
        sumRows(gpu, x, out, { square: true, mean });
        expectClose("sumSquaresRows.out", await readTensor(gpu, out), sumRowsRef(xv, cols, { square: true, mean }), [rows], 0, 2e-6);
        releaseTensor(gpu, out);
      }
      releaseTensor(gpu, x);
    });
  }

  for (const [rows, cols] of [[1, 1], [3, 37], [61, 1000], [129, 257], [2, 5000], [5, 1]] as const) {
    test(`maxRows [${rows}, ${cols}] with -inf, huge negatives and an all -inf row`, async () => {
      const gpu = await testGpu();
      const xv = randomArray(rows * cols, rows * 5 + cols, 100);
      for (let i = 0; i < xv.length; i += 7) xv[i] = -Infinity;
      for (let i = 3; i < xv.length; i += 11) xv[i] = -3e38;
      if (rows > 1) xv.fill(-Infinity, cols, 2 * cols); // row 1: all -inf
      if (rows > 2) xv.fill(-1e30, 2 * cols, 3 * cols); // row 2: all huge negative
      xv[xv.length - 1] = 1000; // the last element of the last row is its max
      const x = tensorFrom(gpu, xv, [rows, cols]);
      const out = poisoned(gpu, [rows]);
      maxRows(gpu, x, out);
      expectSame("maxRows.out", await readTensor(gpu, out), maxRowsRef(xv, cols));
      releaseTensor(gpu, x);
      releaseTensor(gpu, out);
    });
  }

  test("sumAll of squares vs twin; chunk sums split over binding ranges give the same bits", async () => {
    const gpu = await testGpu();
    const CHUNK = reduceShape(gpu).chunk;
    const n = 5 * CHUNK + 123;
    const xv = randomArray(n, 77);
    const x = tensorFrom(gpu, xv, [n]);
    const out = poisoned(gpu, [1]);
    sumAll(gpu, x, out, { square: true });
    const whole = (await readTensor(gpu, out))[0]!;
    expectClose("sumSquaresAll", [whole], [sumAllRef(xv, { square: true })], [1], 0, 2e-6);
    sumInto(gpu, "sumSquaresAll", x, out, 0, { square: true, maxBindingElements: 2 * CHUNK + 5 });
    expect(Object.is((await readTensor(gpu, out))[0]!, whole)).toBe(true);
    const chunks = Math.ceil(n / CHUNK);
    const partA = poisoned(gpu, [chunks + 2]);
    const partB = poisoned(gpu, [chunks + 2]);
    expect(chunkSums(gpu, "chunkSums", x, partA, 1)).toBe(chunks);
    chunkSums(gpu, "chunkSums", x, partB, 1, { maxBindingElements: CHUNK });
    const [a, b] = [await readTensor(gpu, partA), await readTensor(gpu, partB)];
    expect(Number.isNaN(a[0]!) && Number.isNaN(a[chunks + 1]!)).toBe(true); // nothing written outside [1, chunks]
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    const want = Array.from({ length: chunks }, (_, k) => sumAllRef(xv.subarray(k * CHUNK, (k + 1) * CHUNK)));
    expectClose("chunkSums", a.subarray(1, chunks + 1), want, [chunks], 1e-5 * Math.sqrt(CHUNK), 1e-5);
    for (const t of [x, out, partA, partB]) releaseTensor(gpu, t);
  });

  test("binding ranges: whole chunks, covering n exactly", async () => {
    const gpu = await testGpu();
    const CHUNK = reduceShape(gpu).chunk;
    expect(bindingRanges(gpu, 10, 1)).toEqual([{ start: 0, count: 10 }]);
    expect(bindingRanges(gpu, 3 * CHUNK + 1, 2 * CHUNK + 7)).toEqual([
      { start: 0, count: 2 * CHUNK },
      { start: 2 * CHUNK, count: CHUNK + 1 },
    ]);
    expect(bindingRanges(gpu, 0)).toEqual([]);
  });

  test("out of the wrong size is an error", async () => {
    const gpu = await testGpu();
    const x = poisoned(gpu, [4, 6]);
    const out = poisoned(gpu, [5]);
    expect(() => sumRows(gpu, x, out)).toThrow("sumRows: x [4, 6] has 4 rows but out is [5]");
    expect(() => maxRows(gpu, x, out)).toThrow("maxRows: x [4, 6] has 4 rows but out is [5]");
    expect(() => maxRows(gpu, poisoned(gpu, [4, 0]), out)).toThrow("maxRows: x [4, 0] needs a non-empty last dimension");
  });
});
