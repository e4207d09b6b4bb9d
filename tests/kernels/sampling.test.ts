// Sampling vs its float64 twin (exact ids except flagged near-ties), greedy, repeatability,
// and the distribution on a known small vocabulary: plain, temperature, top-k, top-p.
import { describe, expect, test } from "bun:test";
import { type Gpu, createTensor, readTensor, releaseTensor, tensorFrom, type Tensor } from "../../src/gpu/index.ts";
import { sampleTokens, type SamplingOptions } from "../../src/kernels/sampling.ts";
import { sampleTokensRef, samplingUniformRef } from "../../src/ref/sampling.ts";
import { expectClose, randomArray, testGpu } from "../helpers.ts";

// A cold lavapipe shader cache on a busy machine can take seconds to compile the kernel.
const SLOW = 30_000;

interface Sampled {
  ids: Uint32Array;
  logpSample: Float32Array;
  logpPolicy: Float32Array;
}

async function sample(gpu: Gpu, logits: Tensor, opts: SamplingOptions): Promise<Sampled> {
  const B = logits.shape[0]!;
  const ids = tensorFrom(gpu, new Uint32Array(B).fill(0xdeadbeef), [B], "u32");
  const logpSample = tensorFrom(gpu, new Float32Array(B).fill(NaN), [B]);
  const logpPolicy = tensorFrom(gpu, new Float32Array(B).fill(NaN), [B]);
  sampleTokens(gpu, logits, { ids, logpSample, logpPolicy }, opts);
  const out = {
    ids: (await readTensor(gpu, ids)) as Uint32Array,
    logpSample: (await readTensor(gpu, logpSample)) as Float32Array,
    logpPolicy: (await readTensor(gpu, logpPolicy)) as Float32Array,
  };
  for (const t of [ids, logpSample, logpPolicy]) releaseTensor(gpu, t);
  return out;
}

/** Logits [B, V]: every row the log of the same probabilities, permuted so order ≠ id order. */
function knownRows(probs: number[], B: number): Float32Array {
  const out = new Float32Array(B * probs.length);
  for (let b = 0; b < B; b++) probs.forEach((q, j) => (out[b * probs.length + j] = Math.log(q) + 0.25 * (b % 3)));
  return out;
}

/** Draws = B rows × steps calls; returns counts per id and checks the reported log-probs. */
async function draw(gpu: Gpu, probs: number[], want: number[], opts: SamplingOptions, B = 4000, steps = 5): Promise<number[]> {
  const V = probs.length;
  const logits = tensorFrom(gpu, knownRows(probs, B), [B, V]);
  const counts = new Array(V).fill(0);
  const tau = opts.temperature ?? 1;
  const z = probs.reduce((s, q) => s + q ** (1 / tau), 0);
  for (let step = 0; step < steps; step++) {
    const s = await sample(gpu, logits, { ...opts, step });
    for (let b = 0; b < B; b++) {
      const id = s.ids[b]!;
      counts[id]++;
      const policy = Math.log(probs[id]! ** (1 / tau) / z);
      if (Math.abs(s.logpPolicy[b]! - policy) > 2e-5 || Math.abs(s.logpSample[b]! - Math.log(want[id]!)) > 2e-5) {
        throw new Error(`sampling[${b}] id ${id}: logpPolicy ${s.logpPolicy[b]} want ${policy}, logpSample ${s.logpSample[b]} want ${Math.log(want[id]!)}`);
      }
    }
  }
  releaseTensor(gpu, logits);
  return counts;
}

/** Pearson chi-square of counts against probabilities `want` (ids with want 0 must have count 0). */
function expectDistribution(name: string, counts: number[], want: number[]): void {
  const n = counts.reduce((s, c) => s + c, 0);
  let chi2 = 0;
  let dof = -1;
  counts.forEach((c, j) => {
    if (want[j] === 0) {
      if (c !== 0) throw new Error(`${name}: id ${j} is outside the kept set but was sampled ${c} times`);
      return;
    }
    chi2 += (c - n * want[j]!) ** 2 / (n * want[j]!);
    dof++;
  });
  // 99.99th percentile of chi-square with ≤ 4 degrees of freedom is 23.5.
  if (!(chi2 < 23.5)) throw new Error(`${name}: chi-square ${chi2.toFixed(2)} with ${dof} dof; counts ${counts} want ${want.map((q) => (q * n).toFixed(0))}`);
}

const PROBS = [0.1, 0.4, 0.05, 0.3, 0.15];

describe("sampling", () => {
  test("the generator is uniform-looking and keyed by every word", () => {
    const seen = new Set<number>();
    let sum = 0;
    for (let i = 0; i < 4000; i++) {
      const u = samplingUniformRef(7, i >> 4, i & 15);
      expect(u >= 0 && u < 1).toBe(true);
      seen.add(u);
      sum += u;
    }
    expect(seen.size).toBeGreaterThan(3990);
    expect(Math.abs(sum / 4000 - 0.5)).toBeLessThan(0.02);
    const base = samplingUniformRef(1, 2, 3, 4);
    for (const other of [samplingUniformRef(2, 2, 3, 4), samplingUniformRef(1, 3, 3, 4), samplingUniformRef(1, 2, 4, 4), samplingUniformRef(1, 2, 3, 5)]) {
      expect(other).not.toBe(base);
    }
  });

  const CONFIGS: [string, SamplingOptions][] = [
    ["τ = 1", { temperature: 1 }],
    ["τ = 0.7, top-p 0.95", { temperature: 0.7, topP: 0.95 }],
    ["τ = 0.7, top-k 50", { temperature: 0.7, topK: 50 }],
    ["τ = 1.3, top-k 20, top-p 0.8", { temperature: 1.3, topK: 20, topP: 0.8 }],
    ["τ = 0.5, top-p 0.3", { temperature: 0.5, topP: 0.3 }],
  ];
  for (const [name, cfg] of CONFIGS) {
    test(`same ids as the twin on 300 rows, V = 1003: ${name}`, async () => {
      const gpu = await testGpu();
      const [B, V] = [300, 1003];
      const lv = randomArray(B * V, 17, 4);
      const logits = tensorFrom(gpu, lv, [B, V]);
      const opts = { ...cfg, seed: 1234, step: 9, rowOffset: 100 };
      const got = await sample(gpu, logits, opts);
      const ref = sampleTokensRef(lv, B, V, opts);
      let ties = 0;
      for (let b = 0; b < B; b++) {
        if (ref.nearTie[b]) { ties++; continue; }
        if (got.ids[b] !== ref.ids[b]) throw new Error(`sampling.ids[${b}]: gpu ${got.ids[b]} ref ${ref.ids[b]}`);
      }
      // The twin flags rows whose draw or nucleus boundary is within f32 rounding (~1% here).
      expect(ties).toBeLessThanOrEqual(B * 0.03);
      const ok = (i: number) => !ref.nearTie[i];
      expectClose("sampling.logpSample", got.logpSample.filter((_, i) => ok(i)), ref.logpSample.filter((_, i) => ok(i)), [B - ties], 2e-5, 2e-5);
      expectClose("sampling.logpPolicy", got.logpPolicy.filter((_, i) => ok(i)), ref.logpPolicy.filter((_, i) => ok(i)), [B - ties], 2e-5, 2e-5);
      releaseTensor(gpu, logits);
    }, SLOW);
  }

  test("Qwen-sized vocabulary (V = 151936), τ = 0.7, top-p 0.95 and top-k 40, matches the twin", async () => {
    const gpu = await testGpu();
    const [B, V] = [3, 151936];
    const lv = randomArray(B * V, 19, 6);
    const logits = tensorFrom(gpu, lv, [B, V]);
    for (const opts of [{ temperature: 0.7, topP: 0.95, seed: 5 }, { temperature: 0.7, topK: 40, seed: 6 }]) {
      const got = await sample(gpu, logits, opts);
      const ref = sampleTokensRef(lv, B, V, opts);
      for (let b = 0; b < B; b++) {
        if (!ref.nearTie[b]) expect(got.ids[b]).toBe(ref.ids[b]!);
      }
      expectClose("sampling.big.logpPolicy", got.logpPolicy, ref.logpPolicy, [B], 1e-4, 1e-5);
    }
    releaseTensor(gpu, logits);
  }, SLOW);

  test("greedy (τ = 0) is the argmax, ties to the lowest id; logpSample 0, logpPolicy under τ = 1", async () => {
    const gpu = await testGpu();
    const [B, V] = [5, 777];
    const lv = randomArray(B * V, 23, 3);
    lv[0 * V + 400] = 9; lv[0 * V + 100] = 9; lv[0 * V + 700] = 9; // three-way tie in row 0
    lv[1 * V + 776] = 9; // last id
    lv[2 * V + 0] = 9; lv[2 * V + 64] = 9; // same lane of a 64-wide workgroup
    const logits = tensorFrom(gpu, lv, [B, V]);
    const got = await sample(gpu, logits, { temperature: 0, topK: 3, topP: 0.5, seed: 3 });
    const ref = sampleTokensRef(lv, B, V, { temperature: 0 });
    expect(Array.from(got.ids)).toEqual(Array.from(ref.ids));
    expect(Array.from(got.ids.slice(0, 3))).toEqual([100, 776, 0]);
    expect(Array.from(got.logpSample)).toEqual([0, 0, 0, 0, 0]);
    expectClose("sampling.greedy.logpPolicy", got.logpPolicy, ref.logpPolicy, [B], 2e-5, 2e-5);
    releaseTensor(gpu, logits);
  }, SLOW);

  test("rowIds: a call over some of the rows draws what the full call drew for them", async () => {
    const gpu = await testGpu();
    const [B, V] = [40, 1003];
    const lv = randomArray(B * V, 31, 1);
    const opts = { temperature: 1, topP: 0.95, seed: 7, step: 5, rowOffset: 3 };
    const full = await sample(gpu, tensorFrom(gpu, lv, [B, V]), opts);
    const keep = [2, 5, 6, 17, 39];
    const sub = new Float32Array(keep.length * V);
    keep.forEach((r, i) => sub.set(lv.subarray(r * V, (r + 1) * V), i * V));
    const rowIds = tensorFrom(gpu, Uint32Array.from(keep), [keep.length], "u32");
    const part = await sample(gpu, tensorFrom(gpu, sub, [keep.length, V]), { ...opts, rowIds });
    expect(Array.from(part.ids)).toEqual(keep.map((r) => full.ids[r]!));
    expect(Array.from(part.logpPolicy)).toEqual(keep.map((r) => full.logpPolicy[r]!));
    const plain = await sample(gpu, tensorFrom(gpu, sub, [keep.length, V]), opts); // rows 0..4's draws instead
    expect(Array.from(plain.ids).filter((id, i) => id !== part.ids[i]).length).toBeGreaterThan(2);
    const outs = { ids: tensorFrom(gpu, new Uint32Array(5), [5], "u32"), logpSample: tensorFrom(gpu, new Float32Array(5), [5]), logpPolicy: tensorFrom(gpu, new Float32Array(5), [5]) };
    expect(() => sampleTokens(gpu, tensorFrom(gpu, sub, [keep.length, V]), outs, { rowIds: tensorFrom(gpu, Uint32Array.of(1), [1], "u32") })).toThrow(/sampleTokens: rowIds must be u32 \[B\]/);
  }, SLOW);

  test("same seed → same bits; another seed or step → other ids", async () => {
    const gpu = await testGpu();
    const [B, V] = [64, 1003];
    const logits = tensorFrom(gpu, randomArray(B * V, 29, 1), [B, V]);
    const opts = { temperature: 0.7, topP: 0.95, seed: 42, step: 3 };
    const a = await sample(gpu, logits, opts);
    const b = await sample(gpu, logits, opts);
    expect(Array.from(b.ids)).toEqual(Array.from(a.ids));
    expect(Array.from(b.logpSample)).toEqual(Array.from(a.logpSample));
    for (const other of [{ ...opts, seed: 43 }, { ...opts, step: 4 }]) {
      const c = await sample(gpu, logits, other);
      expect(a.ids.filter((id, i) => id !== c.ids[i]).length).toBeGreaterThan(B * 0.9);
    }
    releaseTensor(gpu, logits);
  }, SLOW);

  test("distribution on a known 5-id vocabulary, 20k draws: τ = 1", async () => {
    const gpu = await testGpu();
    expectDistribution("sampling.plain", await draw(gpu, PROBS, PROBS, { seed: 1 }), PROBS);
  }, SLOW);

  test("distribution: τ = 0.5 (probabilities squared, renormalized)", async () => {
    const gpu = await testGpu();
    const sq = PROBS.map((q) => q * q);
    const want = sq.map((q) => q / sq.reduce((s, v) => s + v, 0));
    expectDistribution("sampling.tau", await draw(gpu, PROBS, want, { seed: 2, temperature: 0.5 }), want);
  }, SLOW);

  test("distribution: top-p 0.8 keeps the nucleus {0.4, 0.3, 0.15}, renormalized; the rest never", async () => {
    const gpu = await testGpu();
    const want = PROBS.map((q) => (q >= 0.15 ? q / 0.85 : 0));
    expectDistribution("sampling.topP", await draw(gpu, PROBS, want, { seed: 3, topP: 0.8 }), want);
  }, SLOW);

  test("distribution: top-k 2 keeps {0.4, 0.3}; top-k 3 then top-p 0.6 keeps {0.4, 0.3} too", async () => {
    const gpu = await testGpu();
    const want = PROBS.map((q) => (q >= 0.3 ? q / 0.7 : 0));
    expectDistribution("sampling.topK", await draw(gpu, PROBS, want, { seed: 4, topK: 2 }), want);
    // top-k 3 renormalizes to {0.47, 0.35, 0.18}; top-p 0.6 then needs the first two.
    expectDistribution("sampling.topKtopP", await draw(gpu, PROBS, want, { seed: 5, topK: 3, topP: 0.6 }, 2000, 5), want);
  }, SLOW);

  test("top-k keeps ties at the k-th value; top-p at the boundary keeps ties", async () => {
    const gpu = await testGpu();
    const probs = [0.25, 0.25, 0.25, 0.125, 0.125];
    const counts = await draw(gpu, probs, [1 / 3, 1 / 3, 1 / 3, 0, 0], { seed: 6, topK: 2 }, 3000, 1);
    expectDistribution("sampling.topK.ties", counts, [1 / 3, 1 / 3, 1 / 3, 0, 0]);
    const counts2 = await draw(gpu, probs, [1 / 3, 1 / 3, 1 / 3, 0, 0], { seed: 7, topP: 0.3 }, 3000, 1);
    expectDistribution("sampling.topP.ties", counts2, [1 / 3, 1 / 3, 1 / 3, 0, 0]);
  }, SLOW);

  test("bad shapes and options are errors naming the op, before any dispatch", async () => {
    const gpu = await testGpu();
    const logits = createTensor(gpu, [4, 10]);
    const ids = createTensor(gpu, [4], "u32");
    const lp = createTensor(gpu, [4]);
    const short = createTensor(gpu, [3]);
    const before = gpu.recorder.total;
    expect(() => sampleTokens(gpu, logits, { ids, logpSample: short, logpPolicy: lp })).toThrow(/sampleTokens: shapes do not match \(logits \[4, 10\], ids \[4\], logpSample \[3\]/);
    expect(() => sampleTokens(gpu, logits, { ids, logpSample: lp, logpPolicy: lp }, { topP: 0 })).toThrow(/topP must be in \(0, 1\]/);
    expect(() => sampleTokens(gpu, logits, { ids, logpSample: lp, logpPolicy: lp }, { topK: -1 })).toThrow(/topK/);
    expect(() => sampleTokens(gpu, logits, { ids, logpSample: lp, logpPolicy: lp }, { seed: 2 ** 32 })).toThrow(/seed/);
    expect(() => sampleTokens(gpu, logits, { ids: lp, logpSample: lp, logpPolicy: lp })).toThrow(/ids must be u32/);
    expect(gpu.recorder.total).toBe(before);
    for (const t of [logits, ids, lp, short]) releaseTensor(gpu, t);
  }, SLOW);
});
