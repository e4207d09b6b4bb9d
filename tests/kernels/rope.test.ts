// RoPE (rotate-half) forward and backward, in place, vs the float64 twin: offsets, per-token
// positions, D = 64 and 128, 3 and 2 heads, positions near 100000 and 131072; finite differences
// on the twin's backward.
import { describe, expect, test } from "bun:test";
import { readTensor, releaseTensor, tensorFrom } from "../../src/gpu/index.ts";
import { ropeBackward, ropeForward, ropeFrequencyWords } from "../../src/kernels/rope.ts";
import { ropeBackwardRef, ropeForwardRef } from "../../src/ref/rope.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

// Error bound, for |x| < 1: the kernel's angle is within 4e-7 rad of pos·θ^(−2i/D) below 2^24
// (shaders/rope.wgsl; 6e-7 at 2^31), cos and sin add ~1e-7, and each output mixes two inputs of
// size < 1: about 2·(4e-7 + 1e-7) = 1e-6. Measured: at most 3.8e-7 up to 1.6e7, 5.7e-7 at 2^31
// (where the float64 twin's own angle is off by 2e-7).
// An f32 angle (pos·inv_freq in f32, as HF computes it) is off by ~7e-3 rad at pos 1e5, so this
// tolerance tells the two apart.
const ATOL = 1e-6;

interface Case {
  name: string;
  shape: number[];
  D: number;
  theta: number;
  offset?: number;
  positions?: (rows: number) => Uint32Array;
  variant?: "cpu" | "gpu";
}

/** A packed shared-prefix row: prompt positions base .. base + P − 1, then G responses each
 *  continuing from the prompt's end (base + P, base + P + 1, ...). */
const packed = (base: number, P: number) => (rows: number) => {
  const pos = new Uint32Array(rows);
  const R = Math.ceil((rows - P) / 3);
  for (let t = 0; t < rows; t++) pos[t] = t < P ? base + t : base + P + ((t - P) % R);
  return pos;
};

const CASES: Case[] = [
  { name: "N=37, H=3, D=64, offset 0", shape: [37, 3 * 64], D: 64, theta: 1e6 },
  { name: "B=3, T=37, Hkv=2, D=128, offset 5, theta 1e4", shape: [3, 37, 2 * 128], D: 128, theta: 1e4, offset: 5 },
  { name: "decode: B=3, T=1, H=3, D=64, offset 131071", shape: [3, 1, 3 * 64], D: 64, theta: 1e6, offset: 131071 },
  { name: "N=37, H=3, D=128, offset 99990", shape: [37, 3 * 128], D: 128, theta: 1e6, offset: 99990 },
  { name: "packed prompt + 3 responses at 100000, H=3, D=64", shape: [37, 3 * 64], D: 64, theta: 1e6, positions: packed(100000, 10) },
  { name: "per-token positions up to 131072, D=128, gpu variant", shape: [37, 3 * 128], D: 128, theta: 1e6, positions: packed(131072 - 20, 10), variant: "gpu" },
  { name: "N=37, H=3, D=64, offset 99990, gpu variant", shape: [37, 3 * 64], D: 64, theta: 1e6, offset: 99990, variant: "gpu" },
  { name: "N=37, H=3, D=64, offset 7, cpu variant", shape: [37, 3 * 64], D: 64, theta: 1e6, offset: 7, variant: "cpu" },
  { name: "D=2, one head", shape: [5, 2], D: 2, theta: 10, offset: 3 },
  { name: "D=12 (the scalar path: D % 8 != 0), H=3, offset 99990", shape: [37, 3 * 12], D: 12, theta: 1e6, offset: 99990 },
  { name: "D=12, per-token positions, gpu variant", shape: [37, 3 * 12], D: 12, theta: 1e6, positions: packed(100000, 10), variant: "gpu" },
  // Far past any context window, so every word of the 64-bit position·frequency product matters.
  { name: "decode at 2^31 − 40, B=3, H=3, D=128", shape: [3, 1, 3 * 128], D: 128, theta: 1e6, offset: 2 ** 31 - 40 },
];

describe("rope", () => {
  for (const c of CASES) {
    test(`forward and backward: ${c.name}`, async () => {
      const gpu = await testGpu();
      const n = c.shape.reduce((a, b) => a * b, 1);
      const rows = n / c.shape[c.shape.length - 1]!;
      const xv = randomArray(n, n + c.D);
      const posv = c.positions?.(rows);
      const positions = posv && tensorFrom(gpu, posv, [rows], "u32");
      const opts = { headDim: c.D, theta: c.theta, offset: c.offset, positions, variant: c.variant };
      const refOpts = { headDim: c.D, theta: c.theta, offset: c.offset, positions: posv };
      const x = tensorFrom(gpu, xv, c.shape);
      ropeForward(gpu, x, opts);
      const y = (await readTensor(gpu, x)) as Float32Array;
      expectClose("rope.y", y, ropeForwardRef(xv, c.shape, refOpts), c.shape, ATOL, 0);
      // Same bits when repeated.
      const x2 = tensorFrom(gpu, xv, c.shape);
      ropeForward(gpu, x2, opts);
      expect(new Uint32Array(((await readTensor(gpu, x2)) as Float32Array).buffer)).toEqual(new Uint32Array(y.buffer));
      // Backward on an independent upstream gradient, and the round trip back to x.
      const dyv = randomArray(n, 7);
      const dx = tensorFrom(gpu, dyv, c.shape);
      ropeBackward(gpu, dx, opts);
      expectClose("rope.dx", await readTensor(gpu, dx), ropeBackwardRef(dyv, c.shape, refOpts), c.shape, ATOL, 0);
      ropeBackward(gpu, x, opts);
      expectClose("rope.roundtrip", await readTensor(gpu, x), xv, c.shape, 2 * ATOL, 0);
      for (const t of [x, x2, dx]) releaseTensor(gpu, t);
      if (positions) releaseTensor(gpu, positions);
    });
  }

  test("the frequency words hold θ^(−2i/D) / 2π within 2^−64 (+ float64 rounding)", () => {
    const [theta, D] = [1e6, 128];
    const w = ropeFrequencyWords(theta, D);
    for (let i = 0; i < D / 2; i++) {
      const value = (w[2 * i]! + w[2 * i + 1]! / 2 ** 32) / 2 ** 32;
      const want = Math.pow(theta, (-2 * i) / D) / (2 * Math.PI);
      expect(Math.abs(value - want)).toBeLessThan(2 ** -64 + want * 2 ** -52);
    }
  });

  test("the twin's backward agrees with finite differences of the twin's forward", () => {
    const shape = [2, 3, 2 * 4]; // B=2, T=3, H=2, D=4
    const n = 48;
    const x = Array.from(randomArray(n, 11), Number);
    const dy = Array.from(randomArray(n, 12), Number);
    const opts = { headDim: 4, theta: 100, offset: 1000 };
    const loss = (v: number[]) => ropeForwardRef(v, shape, opts).reduce((s, y, i) => s + y * dy[i]!, 0);
    const dx = ropeBackwardRef(dy, shape, opts);
    const h = 1e-6;
    for (let i = 0; i < n; i++) {
      const p = x.slice(); p[i]! += h;
      const m = x.slice(); m[i]! -= h;
      expect(Math.abs((loss(p) - loss(m)) / (2 * h) - dx[i]!)).toBeLessThan(1e-8);
    }
  });

  test("bad shapes are errors naming the op and the shapes, before any dispatch", async () => {
    const gpu = await testGpu();
    const x = poisoned(gpu, [4, 100]);
    const pos = tensorFrom(gpu, [1, 2, 3], [3], "u32");
    const before = gpu.recorder.total;
    expect(() => ropeForward(gpu, x, { headDim: 64, theta: 1e6 })).toThrow("ropeForward: shapes do not match (x [4, 100], headDim 64): need f32 x [..., T, H·D] with H·D a multiple of 64");
    expect(() => ropeBackward(gpu, x, { headDim: 50, theta: 1e6, positions: pos })).toThrow("ropeBackward: shapes do not match (x [4, 100], headDim 50, positions [3] u32): need u32 positions [4], one per row of x");
    expect(() => ropeForward(gpu, x, { headDim: 5, theta: 1e6 })).toThrow("ropeForward: headDim must be even and positive");
    expect(gpu.recorder.total).toBe(before);
    releaseTensor(gpu, x);
    releaseTensor(gpu, pos);
  });
});
