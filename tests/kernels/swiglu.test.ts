// SwiGLU forward and backward vs the float64 twin: awkward sizes, both lane counts, the scalar
// and vec4 paths, large |g| (no overflow, no NaN); finite differences on the twin's backward.
import { describe, expect, test } from "bun:test";
import { readTensor, releaseTensor, tensorFrom } from "../../src/gpu/index.ts";
import { swigluBackward, swigluForward } from "../../src/kernels/swiglu.ts";
import { swigluBackwardRef, swigluForwardRef } from "../../src/ref/swiglu.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

/** Gate pre-activations in [-8, 8), with extremes at the start: exp(±x) would overflow f32 past 88. */
const EXTREMES = [0, -0, 1e-30, 88.8, -88.8, 100, -100, 1e4, -1e4, 3.4e38, -3.4e38, 20, -20, 17.3, -17.3];

function gates(n: number, seed: number): Float32Array {
  const g = randomArray(n, seed, 8);
  g.set(EXTREMES.slice(0, n));
  return g;
}

describe("swiglu", () => {
  for (const [shape, variant] of [[[37, 61], undefined], [[3, 37, 64], undefined], [[1, 3], undefined], [[37, 61], "gpu"], [[3, 37, 64], "gpu"], [[5, 4864], undefined], [[5, 4864], "cpu"]] as const) {
    const n = shape.reduce((a: number, b: number) => a * b, 1);
    test(`forward and backward [${shape.join(", ")}]${variant ? ` ${variant} variant` : ""}`, async () => {
      const gpu = await testGpu();
      const gv = gates(n, n);
      const uv = randomArray(n, 2);
      const dv = randomArray(n, 3);
      const g = tensorFrom(gpu, gv, [...shape]);
      const u = tensorFrom(gpu, uv, [...shape]);
      const d = tensorFrom(gpu, dv, [...shape]);
      const out = poisoned(gpu, [...shape]);
      const dg = poisoned(gpu, [...shape]);
      const du = poisoned(gpu, [...shape]);
      swigluForward(gpu, g, u, out, { variant });
      // exp, a division and two products in f32: a few ulps.
      expectClose("swiglu.out", await readTensor(gpu, out), swigluForwardRef(gv, uv), [...shape], 1e-30, 1e-6);
      swigluBackward(gpu, g, u, d, dg, du, { variant });
      const ref = swigluBackwardRef(gv, uv, dv);
      // dg has a zero near g = −1.278 where 1 + g·σ(−g) cancels: there the error is absolute, a few
      // ulps of |dout·u| <= 1.
      expectClose("swiglu.dg", await readTensor(gpu, dg), ref.dg, [...shape], 2e-7, 2e-6);
      expectClose("swiglu.du", await readTensor(gpu, du), ref.du, [...shape], 1e-30, 1e-6);
      for (const t of [g, u, d, out, dg, du]) releaseTensor(gpu, t);
    });
  }

  test("the twin's backward agrees with finite differences of the twin's forward", () => {
    const n = 9;
    const g = [-30, -3, -0.5, 0, 0.25, 1, 4, 12, 40];
    const u = Array.from(randomArray(n, 5), Number);
    const dout = Array.from(randomArray(n, 6), Number);
    const loss = (gs: number[], us: number[]) => swigluForwardRef(gs, us).reduce((s, v, i) => s + v * dout[i]!, 0);
    const { dg, du } = swigluBackwardRef(g, u, dout);
    const h = 1e-6;
    for (let i = 0; i < n; i++) {
      const gp = g.slice(); gp[i]! += h;
      const gm = g.slice(); gm[i]! -= h;
      expect(Math.abs((loss(gp, u) - loss(gm, u)) / (2 * h) - dg[i]!)).toBeLessThan(1e-7);
      const up = u.slice(); up[i]! += h;
      const um = u.slice(); um[i]! -= h;
      expect(Math.abs((loss(g, up) - loss(g, um)) / (2 * h) - du[i]!)).toBeLessThan(1e-7);
    }
  });

  test("mismatched shapes are an error naming the op and the shapes, before any dispatch", async () => {
    const gpu = await testGpu();
    const g = poisoned(gpu, [4, 6]);
    const u = poisoned(gpu, [4, 7]);
    const before = gpu.recorder.total;
    expect(() => swigluForward(gpu, g, u, g)).toThrow("swigluForward: shapes do not match (g [4, 6] f32, u [4, 7] f32, out [4, 6] f32): all f32 of one shape");
    expect(() => swigluBackward(gpu, g, g, g, u, g)).toThrow(/^swigluBackward: shapes do not match/);
    expect(gpu.recorder.total).toBe(before);
    releaseTensor(gpu, g);
    releaseTensor(gpu, u);
  });
});
