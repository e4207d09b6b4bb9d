// AdamW and SGD with global gradient-norm clipping vs their float64 twins: several steps over
// parameters of awkward sizes, clipping on and off, weight-decay flags, bias correction at step 1,
// split binding ranges, skipped non-finite steps, determinism and state save/load. Finite
// differences mean nothing for an optimizer; the twins are checked against steps worked by hand.
import { describe, expect, test } from "bun:test";
import { type Gpu, type Tensor, readScalar, readTensor, releaseTensor, tensorFrom, writeTensor } from "../../src/gpu/index.ts";
import { type AdamWOptions, type OptimParam, type SgdOptions, adamwStep, createAdamW, createSgd, gradNorm, optimizerTensors, releaseOptimizer, sgdStep } from "../../src/kernels/optimizer.ts";
import { type RefParam, adamwStepRef, createAdamWRef, createSgdRef, gradNormRef, sgdStepRef } from "../../src/ref/optimizer.ts";
import { reduceShape } from "../../src/kernels/reduce.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

const SHAPES: number[][] = [[1], [37], [1003], [61, 53], [70001]];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Setup {
  params: OptimParam[];
  host: RefParam[];
}

/** Parameters of the given shapes (every other one without weight decay) and their gradients. */
function setup(gpu: Gpu, shapes: number[][], seed: number, gradScale = 1): Setup {
  const host = shapes.map((shape, i) => ({ name: `w${i}`, param: randomArray(size(shape), seed + i), grad: randomArray(size(shape), seed + 100 + i, gradScale), decay: i % 2 === 0 }));
  const params = host.map((h, i) => ({
    name: h.name,
    param: tensorFrom(gpu, h.param, shapes[i]!, "f32", h.name),
    grad: tensorFrom(gpu, h.grad, shapes[i]!, "f32", `${h.name}.grad`),
    decay: h.decay,
  }));
  return { params, host };
}

/** New gradients for step `step` on both sides. */
function newGrads(gpu: Gpu, s: Setup, ref: { slots: { grad: Float64Array }[] }, step: number, gradScale: number): void {
  s.params.forEach((p, i) => {
    const g = randomArray(p.grad.size, 1000 * step + i, gradScale);
    writeTensor(gpu, p.grad, g);
    ref.slots[i]!.grad.set(g);
  });
}

function release(gpu: Gpu, s: Setup): void {
  for (const p of s.params) for (const t of [p.param, p.grad]) releaseTensor(gpu, t);
}

async function snapshot(gpu: Gpu, ts: Tensor[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of ts) out.push((await readTensor(gpu, t)) as Float32Array);
  return out;
}

// f32 state vs float64: m and v are a few roundings off (m cancels, so its error scales with |g|,
// not |m|); w moves by about lr per step and carries one rounding of |w| <= 1 per step plus the
// update's relative error.
const TOL = { m: [4e-8, 2e-6], v: [1e-9, 4e-6], norm: [0, 2e-6] } as const;
const wTol = (lr: number, steps: number) => 1e-7 * steps + 5e-6 * lr * steps;

describe("optimizer twins vs steps worked by hand", () => {
  test("AdamW, one scalar, two steps", () => {
    const ref = createAdamWRef([{ name: "x", param: [0.5], grad: [0.2] }], { lr: 0.1, weightDecay: 0.01, maxGradNorm: 0 });
    adamwStepRef(ref, { step: 1 });
    // m = 0.1·0.2 = 0.02; v = 0.001·0.04 = 4e-5; m̂ = 0.2, v̂ = 0.04; w = 0.5 - 0.1·0.01·0.5 - 0.1·0.2/(0.2 + 1e-8)
    expect(ref.slots[0]!.m[0]).toBeCloseTo(0.02, 15);
    expect(ref.slots[0]!.v[0]).toBeCloseTo(4e-5, 15);
    expect(ref.slots[0]!.param[0]).toBeCloseTo(0.4995 - 0.02 / 0.20000001, 14);
    const w1 = 0.4995 - 0.02 / 0.20000001;
    ref.slots[0]!.grad[0] = -0.1;
    adamwStepRef(ref, { step: 2 });
    // m = 0.9·0.02 - 0.01 = 0.008; v = 0.999·4e-5 + 0.001·0.01 = 4.996e-5
    // m̂ = 0.008/0.19 ; v̂ = 4.996e-5/0.001999 ; w = w1·(1 - 0.001) - 0.1·m̂/(sqrt(v̂) + 1e-8)
    const mHat = 0.008 / 0.19;
    const vHat = 4.996e-5 / (1 - 0.999 * 0.999);
    expect(ref.slots[0]!.m[0]).toBeCloseTo(0.008, 15);
    expect(ref.slots[0]!.v[0]).toBeCloseTo(4.996e-5, 15);
    expect(ref.slots[0]!.param[0]).toBeCloseTo(w1 * 0.999 - (0.1 * mHat) / (Math.sqrt(vHat) + 1e-8), 14);
  });

  test("clipping: norm and coefficient of two gradients", () => {
    // norm = sqrt(9 + 16 + 144) = 13; coef = 2 / (13 + 1e-6)
    const r = gradNormRef([[3, 4], [12]], 2);
    expect(r.norm).toBe(13);
    expect(r.coef).toBeCloseTo(2 / (13 + 1e-6), 15);
    expect(gradNormRef([[3, 4], [12]], 20).coef).toBe(1);
    expect(gradNormRef([[3, 4], [12]], Infinity).coef).toBe(1);
    expect(gradNormRef([[3, 4], [12]], 0).coef).toBe(1);
  });

  test("SGD with momentum, dampening and weight decay, one scalar, two steps", () => {
    const ref = createSgdRef([{ name: "x", param: [1], grad: [0.5] }], { lr: 0.1, momentum: 0.9, dampening: 0.5, weightDecay: 0.1, maxGradNorm: 0 });
    sgdStepRef(ref, { step: 1 }); // d = 0.5 + 0.1·1 = 0.6; buf = 0.6 (first step: no dampening); w = 1 - 0.06
    expect(ref.slots[0]!.m[0]).toBeCloseTo(0.6, 15);
    expect(ref.slots[0]!.param[0]).toBeCloseTo(0.94, 15);
    ref.slots[0]!.grad[0] = -1;
    sgdStepRef(ref, { step: 2 }); // d = -1 + 0.094 = -0.906; buf = 0.54 - 0.453 = 0.087; w = 0.94 - 0.0087
    expect(ref.slots[0]!.m[0]).toBeCloseTo(0.087, 15);
    expect(ref.slots[0]!.param[0]).toBeCloseTo(0.9313, 15);
    const nest = createSgdRef([{ name: "x", param: [1], grad: [0.5] }], { lr: 0.1, momentum: 0.9, nesterov: true, maxGradNorm: 0 });
    sgdStepRef(nest, { step: 1 }); // buf = 0.5; d = 0.5 + 0.45 = 0.95
    expect(nest.slots[0]!.param[0]).toBeCloseTo(0.905, 15);
  });
});

describe("adamw", () => {
  const cases: [string, AdamWOptions, number][] = [
    ["clipping active", { lr: 1e-2, weightDecay: 0.1, maxGradNorm: 1 }, 1],
    ["clipping inactive (norm below the max)", { lr: 1e-3, weightDecay: 0.01, maxGradNorm: 1e4 }, 1],
    ["no clipping (Infinity), small gradients", { lr: 1e-2, weightDecay: 0.1, maxGradNorm: Infinity }, 1e-3],
    ["no clipping (0), defaults otherwise", { maxGradNorm: 0 }, 1],
  ];
  for (const [what, opts, gradScale] of cases) {
    test(`3 steps vs twin: ${what}`, async () => {
      const gpu = await testGpu();
      const s = setup(gpu, SHAPES, 7, gradScale);
      const state = createAdamW(gpu, s.params, opts);
      const ref = createAdamWRef(s.host, opts);
      const lr = state.opts.lr;
      for (let step = 1; step <= 3; step++) {
        if (step > 1) newGrads(gpu, s, ref, step, gradScale);
        adamwStep(gpu, state, { step });
        const want = adamwStepRef(ref, { step });
        const [clip] = await snapshot(gpu, [state.clip]);
        expectClose(`adamw.norm@${step}`, [clip![0]!], [want.norm], [1], TOL.norm[0], TOL.norm[1]);
        expectClose(`adamw.coef@${step}`, [clip![1]!], [want.coef], [1], 0, 2e-6);
        if (opts.maxGradNorm === 1) expect(want.coef).toBeLessThan(0.5);
        for (const [i, slot] of state.slots.entries()) {
          const [w, m, v] = await snapshot(gpu, [slot.param, slot.m, slot.v]);
          const r = ref.slots[i]!;
          expectClose(`adamw.${slot.name}.m@${step}`, m!, r.m, slot.param.shape, TOL.m[0] * gradScale, TOL.m[1]);
          expectClose(`adamw.${slot.name}.v@${step}`, v!, r.v, slot.param.shape, TOL.v[0] * gradScale * gradScale, TOL.v[1]);
          expectClose(`adamw.${slot.name}.w@${step}`, w!, r.param, slot.param.shape, wTol(lr, step), 0);
        }
      }
      releaseOptimizer(gpu, state);
      release(gpu, s);
    });
  }

  test("step 1 is bias-corrected: w' = w·(1 - lr·wd) - lr·g/(|g| + eps), decay only where flagged", async () => {
    const gpu = await testGpu();
    const s = setup(gpu, [[61], [37]], 3);
    const lr = 1e-2;
    const wd = 0.5;
    const state = createAdamW(gpu, s.params, { lr, weightDecay: wd, maxGradNorm: 0 });
    adamwStep(gpu, state, { step: 1 });
    for (const [i, slot] of state.slots.entries()) {
      const h = s.host[i]!;
      const want = Array.from(h.param, (w, j) => w * (h.decay ? 1 - lr * wd : 1) - (lr * h.grad[j]!) / (Math.abs(h.grad[j]!) + 1e-8));
      expectClose(`adamw.step1.${slot.name}`, (await snapshot(gpu, [slot.param]))[0]!, want, slot.param.shape, 3e-7, 0);
    }
    releaseOptimizer(gpu, state);
    release(gpu, s);
  });

  test("same inputs, same bits; split binding ranges give the same bits too", async () => {
    const gpu = await testGpu();
    const chunk = reduceShape(gpu).chunk;
    const shapes = [[2 * chunk + 4099], [1003], [3]]; // the first splits into 3 ranges, the last with a scalar tail
    const runs: Float32Array[][] = [];
    for (const maxBindingElements of [undefined, undefined, chunk]) {
      const s = setup(gpu, shapes, 11);
      const state = createAdamW(gpu, s.params, { lr: 1e-2, maxGradNorm: 1, maxBindingElements });
      const ref = createAdamWRef(s.host, { lr: 1e-2, maxGradNorm: 1 });
      for (let step = 1; step <= 2; step++) {
        if (step > 1) newGrads(gpu, s, ref, step, 1);
        adamwStep(gpu, state, { step });
        adamwStepRef(ref, { step });
      }
      const got = await snapshot(gpu, [state.clip, ...state.slots.flatMap((x) => [x.param, x.m, x.v])]);
      expectClose("adamw.split.w0", got[1]!, ref.slots[0]!.param, shapes[0]!, wTol(1e-2, 2), 0);
      runs.push(got);
      releaseOptimizer(gpu, state);
      release(gpu, s);
    }
    for (const run of runs.slice(1)) {
      run.forEach((t, k) => expect(Buffer.from(t.buffer).equals(Buffer.from(runs[0]![k]!.buffer))).toBe(true));
    }
  });

  test("a non-finite gradient norm (inf, NaN) skips the step (parameters and state untouched) and is reported", async () => {
    const gpu = await testGpu();
    const s = setup(gpu, [[37], [5]], 5);
    const state = createAdamW(gpu, s.params, { lr: 1e-2 });
    adamwStep(gpu, state, { step: 1 });
    const before = await snapshot(gpu, state.slots.flatMap((x) => [x.param, x.m, x.v]));
    for (const [step, bad] of [[2, Number.POSITIVE_INFINITY], [3, Number.NaN]] as const) {
      const g = randomArray(5, 9);
      g[2] = bad;
      writeTensor(gpu, s.params[1]!.grad, g);
      adamwStep(gpu, state, { step });
      const after = await snapshot(gpu, state.slots.flatMap((x) => [x.param, x.m, x.v]));
      after.forEach((t, k) => expect(Buffer.from(t.buffer).equals(Buffer.from(before[k]!.buffer))).toBe(true));
      expect(await readScalar(gpu, state.clip)).toBe(bad);
    }
    releaseOptimizer(gpu, state);
    release(gpu, s);
  });

  test("with skipNonFinite off, an inf gradient is applied unclipped (the twin agrees on finite tensors)", async () => {
    const gpu = await testGpu();
    const s = setup(gpu, [[37], [5]], 5);
    const g = randomArray(5, 9);
    g[2] = Number.POSITIVE_INFINITY;
    writeTensor(gpu, s.params[1]!.grad, g);
    s.host[1]!.grad = g;
    const opts = { lr: 1e-2, skipNonFinite: false };
    const state = createAdamW(gpu, s.params, opts);
    const ref = createAdamWRef(s.host, opts);
    adamwStep(gpu, state, { step: 1 });
    const want = adamwStepRef(ref, { step: 1 });
    expect(want.coef).toBe(1);
    expectClose("adamw.noskip.w0", (await snapshot(gpu, [state.slots[0]!.param]))[0]!, ref.slots[0]!.param, [37], wTol(1e-2, 1), 0);
    releaseOptimizer(gpu, state);
    release(gpu, s);
  });

  test("state saved after 2 steps and loaded into a fresh optimizer continues bit for bit", async () => {
    const gpu = await testGpu();
    const a = setup(gpu, SHAPES, 21);
    const sa = createAdamW(gpu, a.params, { lr: 1e-2 });
    adamwStep(gpu, sa, { step: 1 });
    adamwStep(gpu, sa, { step: 2 });
    const saved = optimizerTensors(sa);
    expect(saved.map((x) => x.name).slice(0, 2)).toEqual(["w0.exp_avg", "w0.exp_avg_sq"]);
    const b = setup(gpu, SHAPES, 21);
    for (const [i, p] of b.params.entries()) writeTensor(gpu, p.param, await readTensor(gpu, a.params[i]!.param));
    const sb = createAdamW(gpu, b.params, { lr: 1e-2 });
    for (const [k, x] of optimizerTensors(sb).entries()) writeTensor(gpu, x.tensor, await readTensor(gpu, saved[k]!.tensor));
    adamwStep(gpu, sa, { step: 3 });
    adamwStep(gpu, sb, { step: 3 });
    const wa = await snapshot(gpu, sa.slots.map((x) => x.param));
    const wb = await snapshot(gpu, sb.slots.map((x) => x.param));
    wa.forEach((t, k) => expect(Buffer.from(t.buffer).equals(Buffer.from(wb[k]!.buffer))).toBe(true));
    for (const [st, s] of [[sa, a], [sb, b]] as const) {
      releaseOptimizer(gpu, st);
      release(gpu, s);
    }
  });

  test("bad shapes, steps and options are errors before anything runs", async () => {
    const gpu = await testGpu();
    const w = poisoned(gpu, [4, 6]);
    const g = poisoned(gpu, [6, 4]);
    const g2 = poisoned(gpu, [4, 6]);
    expect(() => createAdamW(gpu, [{ name: "w", param: w, grad: g }])).toThrow("adamw: w: param [4, 6] and grad [6, 4] shapes differ");
    expect(() => createAdamW(gpu, [{ name: "w", param: w, grad: w }])).toThrow("adamw: w: param and grad are the same buffer");
    expect(() => createAdamW(gpu, [])).toThrow("adamw: no parameters");
    expect(() => createAdamW(gpu, [{ name: "w", param: w, grad: g2 }], { betas: [0.9, 1] })).toThrow("betas");
    const state = createAdamW(gpu, [{ name: "w", param: w, grad: g2 }]);
    expect(() => adamwStep(gpu, state, { step: 0 })).toThrow("adamw: step 0 must be an integer >= 1");
    expect(() => createSgd(gpu, [{ name: "w", param: w, grad: g2 }], { nesterov: true })).toThrow("nesterov");
    expect(() => gradNorm(gpu, [g], poisoned(gpu, [1]))).toThrow("gradNorm: out must be [2]");
    releaseOptimizer(gpu, state);
    for (const t of [w, g, g2]) releaseTensor(gpu, t);
  });
});

describe("gradNorm", () => {
  test("global norm over tensors of different sizes vs twin; coefficient; split ranges give the same bits", async () => {
    const gpu = await testGpu();
    const chunk = reduceShape(gpu).chunk;
    const shapes = [[1], [37], [1003], [61, 53], [2 * chunk + 7]];
    const host = shapes.map((s, i) => randomArray(size(s), 50 + i, 0.3));
    const grads = host.map((h, i) => tensorFrom(gpu, h, shapes[i]!));
    const want = gradNormRef(host, 2);
    const bits: number[] = [];
    for (const maxBindingElements of [undefined, chunk, 2 * chunk]) {
      const out = poisoned(gpu, [2]);
      gradNorm(gpu, grads, out, { maxGradNorm: 2, maxBindingElements });
      const got = await readTensor(gpu, out);
      expectClose("gradNorm", got, [want.norm, want.coef], [2], 0, 2e-6);
      bits.push(got[0]!, got[1]!);
      releaseTensor(gpu, out);
    }
    expect(bits.slice(2)).toEqual([...bits.slice(0, 2), ...bits.slice(0, 2)]);
    for (const t of grads) releaseTensor(gpu, t);
  });
});

describe("sgd", () => {
  const cases: [string, SgdOptions][] = [
    ["plain, clipping active", { lr: 0.1, maxGradNorm: 1 }],
    ["momentum 0.9, dampening 0.1, weight decay", { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.1, maxGradNorm: 0 }],
    ["nesterov, weight decay, clipping active", { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1, maxGradNorm: 1 }],
  ];
  for (const [what, opts] of cases) {
    test(`3 steps vs twin: ${what}`, async () => {
      const gpu = await testGpu();
      const s = setup(gpu, SHAPES, 31);
      const state = createSgd(gpu, s.params, opts);
      const ref = createSgdRef(s.host, opts);
      for (let step = 1; step <= 3; step++) {
        if (step > 1) newGrads(gpu, s, ref, step, 1);
        sgdStep(gpu, state, { step });
        const want = sgdStepRef(ref, { step });
        expectClose(`sgd.clip@${step}`, (await snapshot(gpu, [state.clip]))[0]!, [want.norm, want.coef], [2], 0, 2e-6);
        for (const [i, slot] of state.slots.entries()) {
          const r = ref.slots[i]!;
          expectClose(`sgd.${slot.name}.w@${step}`, (await snapshot(gpu, [slot.param]))[0]!, r.param, slot.param.shape, 1.5e-7 * step, 0);
          if (slot.buf) expectClose(`sgd.${slot.name}.buf@${step}`, (await snapshot(gpu, [slot.buf]))[0]!, r.m, slot.param.shape, 1e-7 * step, 2e-6);
        }
      }
      releaseOptimizer(gpu, state);
      release(gpu, s);
    });
  }
});
