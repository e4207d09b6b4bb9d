// Token log-probs / entropy (forward and backward) vs the float64 twin, with and without chunks
// and vocab blocks; the twin's backward vs finite differences; masking, determinism, shape errors.
import { describe, expect, test } from "bun:test";
import { type Gpu, readTensor, releaseTensor, tensorFrom, type Tensor } from "../../src/gpu/index.ts";
import { MASKED_TARGET, logprobsBackward, logprobsForward, logprobsPlan } from "../../src/kernels/logprobs.ts";
import { logprobsBackwardRef, logprobsForwardRef } from "../../src/ref/logprobs.ts";
import { createRng } from "../../src/util/rng.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

// A cold lavapipe shader cache on a busy machine can take seconds to compile the kernels.
const SLOW = 30_000;

/** Random target ids in [0, V), every 7th position masked. */
function randomTargets(N: number, V: number, seed: number): Uint32Array {
  const rng = createRng(seed, 1);
  return Uint32Array.from({ length: N }, (_, n) => (n % 7 === 3 ? MASKED_TARGET : rng.int(V)));
}

interface Case {
  N: number;
  C: number;
  V: number;
  temperature: number;
  /** Scale of h: larger → sharper distributions. */
  scale: number;
  budgetBytes?: number;
}

function inputs(gpu: Gpu, { N, C, V, scale }: Case, seed: number) {
  const hv = randomArray(N * C, seed, scale);
  const wv = randomArray(V * C, seed + 1);
  const tv = randomTargets(N, V, seed + 2);
  return { hv, wv, tv, h: tensorFrom(gpu, hv, [N, C]), w: tensorFrom(gpu, wv, [V, C]), targets: tensorFrom(gpu, tv, [N], "u32") };
}

function outputs(gpu: Gpu, N: number) {
  return { logp: poisoned(gpu, [N]), entropy: poisoned(gpu, [N]), lse: poisoned(gpu, [N]) };
}

function release(gpu: Gpu, ...ts: (Tensor | undefined)[]): void {
  for (const t of ts) if (t) releaseTensor(gpu, t);
}

const CASES: [string, Case][] = [
  ["one tile, τ = 1", { N: 37, C: 61, V: 1003, temperature: 1, scale: 1 }],
  ["one tile, τ = 0.7, sharp logits", { N: 37, C: 61, V: 1003, temperature: 0.7, scale: 3 }],
  ["chunks and vocab blocks forced (16 KiB budget), τ = 0.7", { N: 37, C: 61, V: 1003, temperature: 0.7, scale: 1, budgetBytes: 16384 }],
  ["chunks of whole rows (64 KiB budget), τ = 1", { N: 37, C: 61, V: 1003, temperature: 1, scale: 2, budgetBytes: 65536 }],
  ["tiny: N = 1, C = 3, V = 5", { N: 1, C: 3, V: 5, temperature: 1, scale: 1 }],
];

describe("logprobs", () => {
  test("plans: one tile when it fits; chunks; chunks and blocks under a tiny budget; W over one binding", async () => {
    const gpu = await testGpu();
    expect(logprobsPlan(gpu, 37, 61, 1003)).toEqual({ rows: 37, cols: 1003, chunks: 1, blocks: 1 });
    expect(logprobsPlan(gpu, 37, 61, 1003, 65536)).toEqual({ rows: 13, cols: 1003, chunks: 3, blocks: 1 });
    expect(logprobsPlan(gpu, 37, 61, 1003, 16384)).toEqual({ rows: 13, cols: 256, chunks: 3, blocks: 4 });
    // Qwen2.5-1.5B's head (151936 x 1536 = 933 MB) is bigger than one binding: blocks of W.
    const big = logprobsPlan(gpu, 4096, 1536, 151936);
    expect(big.blocks).toBeGreaterThan(1);
    expect(big.cols * 1536 * 4).toBeLessThanOrEqual(gpu.limits.maxStorageBufferBindingSize!);
    expect(big.rows * big.cols * 4).toBeLessThanOrEqual(64 * 1024 * 1024);
  }, SLOW);

  for (const [name, c] of CASES) {
    test(`forward and backward vs the twin: ${name}`, async () => {
      const gpu = await testGpu();
      const { N, C, V, temperature, budgetBytes } = c;
      const { hv, wv, tv, h, w, targets } = inputs(gpu, c, N + C + V);
      const out = outputs(gpu, N);
      logprobsForward(gpu, h, w, targets, out, { temperature, budgetBytes });
      const ref = logprobsForwardRef(hv, wv, tv, N, C, V, { temperature });
      // logits carry f32 rounding of a C-term dot product (~1e-6 relative); lse and logp inherit it.
      expectClose("logprobs.logp", await readTensor(gpu, out.logp), ref.logp, [N], 2e-5, 2e-5);
      expectClose("logprobs.entropy", await readTensor(gpu, out.entropy), ref.entropy, [N], 2e-5, 2e-5);
      expectClose("logprobs.lse", await readTensor(gpu, out.lse), ref.lse, [N], 2e-5, 2e-5);

      const dlv = randomArray(N, 5);
      const dev = randomArray(N, 6);
      const dwv0 = randomArray(V * C, 7);
      const dlogp = tensorFrom(gpu, dlv, [N]);
      const dentropy = tensorFrom(gpu, dev, [N]);
      const dh = poisoned(gpu, [N, C]);
      const dw = tensorFrom(gpu, dwv0, [V, C]); // accumulated into
      logprobsBackward(gpu, h, w, targets, out, { dlogp, dentropy }, dh, dw, { temperature, budgetBytes });
      const g = logprobsBackwardRef(hv, wv, tv, { dlogp: dlv, dentropy: dev }, N, C, V, { temperature });
      expectClose("logprobs.dh", await readTensor(gpu, dh), g.dh, [N, C], 2e-5, 1e-4);
      expectClose("logprobs.dw", await readTensor(gpu, dw), g.dw.map((v, i) => v + dwv0[i]!), [V, C], 2e-5, 1e-4);
      release(gpu, h, w, targets, out.logp, out.entropy, out.lse, dlogp, dentropy, dh, dw);
    }, SLOW);
  }

  test("backward with only dlogp, only dentropy, and dh accumulated (chunks and blocks)", async () => {
    const gpu = await testGpu();
    const c: Case = { N: 29, C: 20, V: 301, temperature: 0.7, scale: 2, budgetBytes: 4096 };
    const { N, C, V, temperature, budgetBytes } = c;
    const plan = logprobsPlan(gpu, N, C, V, budgetBytes);
    expect(plan.chunks > 1 && plan.blocks > 1).toBe(true);
    const { hv, wv, tv, h, w, targets } = inputs(gpu, c, 11);
    const out = outputs(gpu, N);
    logprobsForward(gpu, h, w, targets, out, { temperature, budgetBytes });
    const dlv = randomArray(N, 12);
    const dev = randomArray(N, 13);
    const dhv0 = randomArray(N * C, 14);
    for (const which of ["dlogp", "dentropy"] as const) {
      const grad = tensorFrom(gpu, which === "dlogp" ? dlv : dev, [N]);
      const dh = tensorFrom(gpu, dhv0, [N, C]);
      const dw = tensorFrom(gpu, new Float32Array(V * C), [V, C]);
      logprobsBackward(gpu, h, w, targets, out, { [which]: grad }, dh, dw, { temperature, budgetBytes, accumulate: true });
      const g = logprobsBackwardRef(hv, wv, tv, { [which]: which === "dlogp" ? dlv : dev }, N, C, V, { temperature });
      expectClose(`logprobs.${which}.dh`, await readTensor(gpu, dh), g.dh.map((v, i) => v + dhv0[i]!), [N, C], 2e-5, 1e-4);
      expectClose(`logprobs.${which}.dw`, await readTensor(gpu, dw), g.dw, [V, C], 2e-5, 1e-4);
      release(gpu, grad, dh, dw);
    }
    release(gpu, h, w, targets, out.logp, out.entropy, out.lse);
  }, SLOW);

  test("masked targets give logp 0 and no logp gradient; a target ≥ V gives NaN; entropy still computed", async () => {
    const gpu = await testGpu();
    const [N, C, V] = [3, 8, 50];
    const hv = randomArray(N * C, 21);
    const wv = randomArray(V * C, 22);
    const tv = Uint32Array.from([MASKED_TARGET, 7, V]);
    const h = tensorFrom(gpu, hv, [N, C]);
    const w = tensorFrom(gpu, wv, [V, C]);
    const targets = tensorFrom(gpu, tv, [N], "u32");
    const out = outputs(gpu, N);
    logprobsForward(gpu, h, w, targets, out);
    const logp = await readTensor(gpu, out.logp);
    expect(logp[0]).toBe(0);
    expect(Number.isNaN(logp[2]!)).toBe(true);
    const ref = logprobsForwardRef(hv, wv, tv, N, C, V);
    expectClose("logprobs.masked.entropy", await readTensor(gpu, out.entropy), ref.entropy, [N], 2e-5, 2e-5);
    // Only dlogp at the masked position: no gradient at all.
    const dlogp = tensorFrom(gpu, [1, 0, 0], [N]);
    const dh = poisoned(gpu, [N, C]);
    logprobsBackward(gpu, h, w, targets, out, { dlogp }, dh, undefined);
    expect(Array.from(await readTensor(gpu, dh)).every((v) => v === 0)).toBe(true);
    release(gpu, h, w, targets, out.logp, out.entropy, out.lse, dlogp, dh);
  }, SLOW);

  test("deterministic: the same inputs give the same bits", async () => {
    const gpu = await testGpu();
    const c: Case = { N: 37, C: 61, V: 1003, temperature: 0.7, scale: 1, budgetBytes: 16384 };
    const { h, w, targets } = inputs(gpu, c, 31);
    const dlogp = tensorFrom(gpu, randomArray(c.N, 32), [c.N]);
    const runs: Float32Array[][] = [];
    for (let i = 0; i < 2; i++) {
      const out = outputs(gpu, c.N);
      logprobsForward(gpu, h, w, targets, out, c);
      const dh = poisoned(gpu, [c.N, c.C]);
      const dw = tensorFrom(gpu, new Float32Array(c.V * c.C), [c.V, c.C]);
      logprobsBackward(gpu, h, w, targets, out, { dlogp, dentropy: dlogp }, dh, dw, c);
      runs.push([...(await Promise.all([out.logp, out.entropy, dh, dw].map((t) => readTensor(gpu, t))))] as Float32Array[]);
      release(gpu, out.logp, out.entropy, out.lse, dh, dw);
    }
    runs[0]!.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(runs[1]![i]!.buffer))).toBe(true));
    release(gpu, h, w, targets, dlogp);
  }, SLOW);

  test("the twin's backward agrees with central finite differences of the twin's forward", () => {
    const [N, C, V, temperature] = [3, 4, 7, 0.7];
    const h = Array.from(randomArray(N * C, 41, 2), Number);
    const w = Array.from(randomArray(V * C, 42, 2), Number);
    const targets = [2, MASKED_TARGET, 6];
    const dlogp = [0.7, -1.3, -0.4];
    const dentropy = [0.2, 0.5, -0.9];
    const loss = (hh: number[], ww: number[]) => {
      const { logp, entropy } = logprobsForwardRef(hh, ww, targets, N, C, V, { temperature });
      let s = 0;
      for (let n = 0; n < N; n++) s += dlogp[n]! * logp[n]! + dentropy[n]! * entropy[n]!;
      return s;
    };
    const { dh, dw } = logprobsBackwardRef(h, w, targets, { dlogp, dentropy }, N, C, V, { temperature });
    const eps = 1e-6;
    const check = (x: number[], grad: Float64Array, f: (v: number[]) => number, name: string) => {
      for (let i = 0; i < x.length; i++) {
        const p = x.slice(); p[i]! += eps;
        const m = x.slice(); m[i]! -= eps;
        const fd = (f(p) - f(m)) / (2 * eps);
        if (!(Math.abs(fd - grad[i]!) < 1e-6 + 1e-6 * Math.abs(fd))) throw new Error(`${name}[${i}]: twin ${grad[i]} finite difference ${fd}`);
      }
    };
    check(h, dh, (v) => loss(v, w), "logprobsBackwardRef.dh");
    check(w, dw, (v) => loss(h, v), "logprobsBackwardRef.dw");
  });

  test("mismatched shapes are an error naming the op and the shapes, before any dispatch", async () => {
    const gpu = await testGpu();
    const h = poisoned(gpu, [5, 8]);
    const w = poisoned(gpu, [11, 9]);
    const targets = tensorFrom(gpu, new Uint32Array(5), [5], "u32");
    const out = outputs(gpu, 5);
    const before = gpu.recorder.total;
    expect(() => logprobsForward(gpu, h, w, targets, out)).toThrow(/logprobs: shapes do not match \(h \[5, 8\], w \[11, 9\], targets \[5\]\)/);
    const w2 = poisoned(gpu, [11, 8]);
    expect(() => logprobsForward(gpu, h, w2, targets, out, { temperature: 0 })).toThrow(/temperature must be > 0/);
    const bad = poisoned(gpu, [4]);
    expect(() => logprobsForward(gpu, h, w2, targets, { ...out, logp: bad })).toThrow(/logprobs: logp \[4\]/);
    expect(() => logprobsBackward(gpu, h, w2, targets, out, {}, poisoned(gpu, [5, 9]), undefined)).toThrow(/logprobsBackward: dh \[5, 9\] does not match h \[5, 8\]/);
    expect(gpu.recorder.total).toBe(before);
    release(gpu, h, w, w2, targets, out.logp, out.entropy, out.lse, bad);
  }, SLOW);
});
