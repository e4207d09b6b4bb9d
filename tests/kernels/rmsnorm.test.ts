// RMSNorm forward (y, rstd) and backward (dx, dw; overwrite and accumulate) vs the float64 twin
// at awkward sizes and both lane counts; determinism; finite differences on the twin's backward.
import { describe, expect, test } from "bun:test";
import { readTensor, releaseTensor, tensorFrom } from "../../src/gpu/index.ts";
import { rmsnormBackward, rmsnormForward } from "../../src/kernels/rmsnorm.ts";
import { rmsnormBackwardRef, rmsnormForwardRef } from "../../src/ref/rmsnorm.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

const EPS = 1e-6;

/** x [N, C] in [-1, 1), with row 1 scaled by 1e-3 (mean(x²) comparable to eps) and row 2 by 30. */
function inputs(N: number, C: number, seed: number): Float32Array {
  const x = randomArray(N * C, seed);
  for (let c = 0; c < C; c++) {
    if (N > 1) x[C + c] *= 1e-3;
    if (N > 2) x[2 * C + c] *= 30;
  }
  return x;
}

/** Row by row, with an absolute tolerance relative to the row's largest |ref| (rows differ in scale). */
function closeByRow(name: string, got: ArrayLike<number>, want: ArrayLike<number>, N: number, C: number, rel: number, rtol: number): void {
  for (let r = 0; r < N; r++) {
    const g = Array.from({ length: C }, (_, c) => got[r * C + c]!);
    const w = Array.from({ length: C }, (_, c) => want[r * C + c]!);
    const big = Math.max(...w.map(Math.abs));
    expectClose(`${name}[${r},:]`, g, w, [C], rel * big, rtol);
  }
}

describe("rmsnorm", () => {
  for (const [shape, variant] of [[[37, 61], undefined], [[3, 37, 64], undefined], [[5, 896], undefined], [[1, 3], undefined], [[37, 61], "gpu"], [[3, 37, 64], "gpu"], [[1, 3], "gpu"], [[3, 37, 64], "cpu"]] as const) {
    const C = shape[shape.length - 1]!;
    const N = shape.reduce((a: number, b: number) => a * b, 1) / C;
    const name = `[${shape.join(", ")}]${variant ? ` ${variant} variant` : ""}`;
    test(`forward and backward ${name}`, async () => {
      const gpu = await testGpu();
      const xv = inputs(N, C, C + N);
      const wv = randomArray(C, 2, 2);
      const dyv = randomArray(N * C, 3);
      const x = tensorFrom(gpu, xv, [...shape]);
      const w = tensorFrom(gpu, wv, [C]);
      const y = poisoned(gpu, [...shape]);
      const rstd = poisoned(gpu, [N]);
      rmsnormForward(gpu, x, w, y, rstd, EPS, { variant });
      const ref = rmsnormForwardRef(xv, wv, C, EPS);
      // f32 sum of C squares, then a square root: a few ulps, times C^0.5 for the sum.
      const rstdGot = await readTensor(gpu, rstd);
      expectClose("rmsnorm.rstd", rstdGot, ref.rstd, [N], 0, 2e-6);
      expectClose("rmsnorm.y", await readTensor(gpu, y), ref.y, [...shape], 1e-6, 4e-6);

      // Backward from the kernel's own rstd (the twin takes rstd as an input, like the kernel).
      const dy = tensorFrom(gpu, dyv, [...shape]);
      const dx = poisoned(gpu, [...shape]);
      const dw = poisoned(gpu, [C]);
      rmsnormBackward(gpu, x, w, rstd, dy, dx, dw, { variant });
      const back = rmsnormBackwardRef(xv, wv, rstdGot, dyv, C);
      const dxGot = await readTensor(gpu, dx);
      closeByRow("rmsnorm.dx", dxGot, back.dx, N, C, 2e-6, 1e-5);
      const dwGot = await readTensor(gpu, dw);
      expectClose("rmsnorm.dw", dwGot, back.dw, [C], 1e-6 * Math.sqrt(N) * 4, 1e-5);

      // Accumulate: dx += and dw += onto the values just computed (the twin starts from them too).
      rmsnormBackward(gpu, x, w, rstd, dy, dx, dw, { variant, accumulate: true, accumulateDx: true });
      const acc = rmsnormBackwardRef(xv, wv, rstdGot, dyv, C, dxGot, dwGot);
      closeByRow("rmsnorm.dx(acc)", await readTensor(gpu, dx), acc.dx, N, C, 4e-6, 1e-5);
      expectClose("rmsnorm.dw(acc)", await readTensor(gpu, dw), acc.dw, [C], 2e-6 * Math.sqrt(N) * 4, 1e-5);
      for (const t of [x, w, y, rstd, dy, dx, dw]) releaseTensor(gpu, t);
    });
  }

  test("dw over many row blocks (N = 1000) matches the twin and is bit-identical when repeated", async () => {
    const gpu = await testGpu();
    const [N, C] = [1000, 36];
    const xv = inputs(N, C, 11);
    const wv = randomArray(C, 12, 2);
    const dyv = randomArray(N * C, 13);
    const x = tensorFrom(gpu, xv, [N, C]);
    const w = tensorFrom(gpu, wv, [C]);
    const y = poisoned(gpu, [N, C]);
    const rstd = poisoned(gpu, [N]);
    rmsnormForward(gpu, x, w, y, rstd, EPS);
    const rstdGot = await readTensor(gpu, rstd);
    const dy = tensorFrom(gpu, dyv, [N, C]);
    const dx = poisoned(gpu, [N, C]);
    const dw = poisoned(gpu, [C]);
    rmsnormBackward(gpu, x, w, rstd, dy, dx, dw);
    const first = new Uint32Array(((await readTensor(gpu, dw)) as Float32Array).slice().buffer);
    expectClose("rmsnorm.dw", new Float32Array(first.buffer), rmsnormBackwardRef(xv, wv, rstdGot, dyv, C).dw, [C], 1e-6 * Math.sqrt(N) * 4, 1e-5);
    rmsnormBackward(gpu, x, w, rstd, dy, dx, dw);
    expect(new Uint32Array(((await readTensor(gpu, dw)) as Float32Array).buffer)).toEqual(first);
    for (const t of [x, w, y, rstd, dy, dx, dw]) releaseTensor(gpu, t);
  });

  test("the twin's backward agrees with finite differences of the twin's forward", () => {
    const [N, C] = [3, 5];
    const x = Array.from(inputs(N, C, 21), Number);
    const w = Array.from(randomArray(C, 22, 2), Number);
    const dy = Array.from(randomArray(N * C, 23), Number);
    const loss = (xs: number[], ws: number[]) => rmsnormForwardRef(xs, ws, C, EPS).y.reduce((s, v, i) => s + v * dy[i]!, 0);
    const { dx, dw } = rmsnormBackwardRef(x, w, rmsnormForwardRef(x, w, C, EPS).rstd, dy, C);
    const check = (v: number[], g: Float64Array, f: (p: number[]) => number, what: string) => {
      for (let i = 0; i < v.length; i++) {
        const h = 1e-6 * Math.max(1e-3, Math.abs(v[i]!));
        const p = v.slice(); p[i]! += h;
        const m = v.slice(); m[i]! -= h;
        const fd = (f(p) - f(m)) / (2 * h);
        if (!(Math.abs(fd - g[i]!) <= 1e-6 * (1 + Math.abs(g[i]!)))) throw new Error(`rmsnorm twin ${what}[${i}]: backward ${g[i]} finite difference ${fd}`);
      }
    };
    check(x, dx, (p) => loss(p, w), "dx");
    check(w, dw, (p) => loss(x, p), "dw");
  });

  test("mismatched shapes are an error naming the op and the shapes, before any dispatch", async () => {
    const gpu = await testGpu();
    const x = poisoned(gpu, [4, 6]);
    const w = poisoned(gpu, [5]);
    const y = poisoned(gpu, [4, 6]);
    const rstd = poisoned(gpu, [4]);
    const before = gpu.recorder.total;
    expect(() => rmsnormForward(gpu, x, w, y, rstd, EPS)).toThrow("rmsnormForward: shapes do not match (x [4, 6], w [5], y [4, 6], rstd [4]): need w [6], rstd [4], the others like x");
    expect(() => rmsnormBackward(gpu, x, w, rstd, y, y, w)).toThrow(/^rmsnormBackward: shapes do not match \(x \[4, 6\], w \[5\], rstd \[4\], dy \[4, 6\], dx \[4, 6\], dw \[5\]\)/);
    expect(gpu.recorder.total).toBe(before);
    for (const t of [x, w, y, rstd]) releaseTensor(gpu, t);
  });
});
