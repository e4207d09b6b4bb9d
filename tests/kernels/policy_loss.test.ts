// Policy loss kernel vs its float64 twin at awkward N (KL on and off, both lane counts), poisoned
// outputs, masked tokens holding NaN, the clip fraction on hand-made cases, the sums and metrics,
// and finite differences of the twin's loss for its dlogp.
import { describe, expect, test } from "bun:test";
import { readTensor, releaseTensor, tensorFrom, type Tensor } from "../../src/gpu/index.ts";
import { STAT_ROWS, policyLoss, policyLossMetrics } from "../../src/kernels/policy_loss.ts";
import { policyLossRef, type PolicyLossRefOptions } from "../../src/ref/policy_loss.ts";
import { createRng } from "../../src/util/rng.ts";
import { expectClose, poisoned, testGpu } from "../helpers.ts";

interface Case {
  logp: Float32Array; logpOld: Float32Array; adv: Float32Array; weight: Float32Array;
  refLogp: Float32Array; entropy: Float32Array;
}

/** Seeded inputs whose log-ratios and KL arguments stay 1e-3 clear of every branch boundary. */
function makeCase(n: number, seed: number, o: PolicyLossRefOptions): Case {
  const rng = createRng(seed, 11);
  const c: Case = {
    logp: new Float32Array(n), logpOld: new Float32Array(n), adv: new Float32Array(n), weight: new Float32Array(n),
    refLogp: new Float32Array(n), entropy: new Float32Array(n),
  };
  const ratioEdges = [Math.log(1 - o.clipLow), Math.log(1 + o.clipHigh), -20, 20];
  const klEdges = [-10, 10, 2.5277, 0.25, -0.25]; // k3 = 10 near x = 2.5277; the series switch at ±1/4
  const clear = (v: number, edges: number[]) => edges.every((e) => Math.abs(v - e) > 1e-3);
  for (let i = 0; i < n; i++) {
    c.logpOld[i] = -6 * rng.next();
    const wild = rng.next() < 0.03; // log-ratio past the ±20 clamp, or KL past its clamps
    let d = wild ? (rng.next() < 0.5 ? -1 : 1) * (20.5 + rng.next()) : (rng.next() * 2 - 1) * 0.45;
    while (!clear(Math.fround(Math.fround(c.logpOld[i]! + d) - c.logpOld[i]!), ratioEdges)) d += 2e-3;
    c.logp[i] = c.logpOld[i]! + d;
    let x = wild ? (rng.next() * 2 - 1) * 14 : (rng.next() * 2 - 1) * 0.6;
    while (!clear(Math.fround(Math.fround(c.logp[i]! + x) - c.logp[i]!), klEdges)) x += 2e-3;
    c.refLogp[i] = c.logp[i]! + x;
    c.adv[i] = rng.next() < 0.05 ? 0 : (rng.next() * 2 - 1) * 2;
    const u = rng.next();
    c.weight[i] = u < 0.2 ? 0 : u < 0.25 ? 0.5 : 1;
    c.entropy[i] = 3 * rng.next();
    if (c.weight[i] === 0 && rng.next() < 0.3) c.logp[i] = Number.NaN; // masked tokens never leak
  }
  return c;
}

const OPTS: PolicyLossRefOptions = { clipLow: 0.2, clipHigh: 0.28, entropyCoef: 0.001, klCoef: 0.05, denom: 1 };

async function runGpu(c: Case, o: PolicyLossRefOptions & { variant?: "cpu" | "gpu" }, withRef: boolean) {
  const gpu = await testGpu();
  const n = c.logp.length;
  const t = (a: Float32Array) => tensorFrom(gpu, a, [n]);
  const inputs = { logp: t(c.logp), logpOld: t(c.logpOld), adv: t(c.adv), weight: t(c.weight), refLogp: withRef ? t(c.refLogp) : undefined, entropy: t(c.entropy) };
  const outputs = { dlogp: poisoned(gpu, [n]), dentropy: poisoned(gpu, [n]), stats: poisoned(gpu, [STAT_ROWS, n]), sums: poisoned(gpu, [STAT_ROWS]) };
  policyLoss(gpu, inputs, outputs, o);
  const got = {
    dlogp: await readTensor(gpu, outputs.dlogp), dentropy: await readTensor(gpu, outputs.dentropy),
    stats: await readTensor(gpu, outputs.stats), sums: await readTensor(gpu, outputs.sums),
  };
  for (const x of [...Object.values(inputs), ...Object.values(outputs)]) if (x) releaseTensor(gpu, x as Tensor);
  return got;
}

function compare(name: string, c: Case, o: PolicyLossRefOptions, withRef: boolean, got: Awaited<ReturnType<typeof runGpu>>) {
  const n = c.logp.length;
  const want = policyLossRef({ ...c, refLogp: withRef ? c.refLogp : undefined }, o);
  // f32 exp and a few products; terms of dlogp are at most ~5/denom, so the absolute floor is theirs.
  expectClose(`${name}.dlogp`, got.dlogp, want.dlogp, [n], 5e-6 / o.denom, 1e-5);
  expectClose(`${name}.dentropy`, got.dentropy, want.dentropy, [n], 1e-12, 1e-6);
  expectClose(`${name}.stats`, got.stats, want.stats, [STAT_ROWS, n], 1e-6, 2e-5);
  // The clip flags must agree exactly (inputs stay clear of the boundaries).
  expectClose(`${name}.clipped`, got.stats.subarray(n, 2 * n), want.stats.subarray(n, 2 * n), [n], 0, 0);
  // f32 sums of N terms: the floor scales with Σ|term| of the row.
  const absSum = Array.from({ length: STAT_ROWS }, (_, r) => want.stats.subarray(r * n, (r + 1) * n).reduce((s, v) => s + Math.abs(v), 0));
  for (let r = 0; r < STAT_ROWS; r++) expectClose(`${name}.sums[${r}]`, [got.sums[r]!], [want.sums[r]!], [1], 1e-5 * absSum[r]! + 1e-7, 0);
  return want;
}

describe("policy loss", () => {
  for (const [n, variant] of [[1, undefined], [37, undefined], [1003, undefined], [4099, undefined], [1003, "gpu"], [4099, "cpu"]] as const) {
    test(`gpu vs twin, KL on, N = ${n}${variant ? ` ${variant} variant` : ""}`, async () => {
      const c = makeCase(n, n, OPTS);
      const o = { ...OPTS, denom: c.weight.reduce((s, w) => s + w, 0) + 5, variant };
      const want = compare(`policyLoss[N=${n}]`, c, o, true, await runGpu(c, o, true));
      const m = policyLossMetrics(want.sums, o);
      // Log-ratios past ±20 with A < 0 make l huge (no dual clip), so compare relatively.
      expect(Math.abs(m.loss - want.loss)).toBeLessThanOrEqual(1e-12 * Math.abs(want.loss));
    });
  }

  test("KL off: no reference, k3 row is zero, dlogp has no KL term", async () => {
    const c = makeCase(1003, 7, OPTS);
    const o = { ...OPTS, klCoef: 0, denom: 900 };
    const got = await runGpu(c, o, false);
    compare("policyLoss[noKL]", c, o, false, got);
    expect(got.stats.subarray(3 * 1003, 4 * 1003).every((v) => v === 0)).toBe(true);
    // With the reference bound but klCoef 0, k3 is still reported while dlogp ignores it.
    const withRef = await runGpu(c, o, true);
    expectClose("policyLoss[ref,kl0].dlogp", withRef.dlogp, got.dlogp, [1003], 0, 0);
    expect(withRef.sums[3]!).toBeGreaterThan(0);
  });

  test("entropy coefficient: dentropy = −coef·w/denom, and the metrics' loss carries the bonus", async () => {
    const c = makeCase(37, 3, OPTS);
    for (const entropyCoef of [0, 0.01]) {
      const o = { ...OPTS, entropyCoef, denom: 40 };
      const got = await runGpu(c, o, true);
      const want = compare(`policyLoss[ent=${entropyCoef}]`, c, o, true, got);
      expectClose("policyLoss.dentropy", got.dentropy, Array.from(c.weight, (w) => (-entropyCoef * w) / 40), [37], 0, 1e-6);
      const m = policyLossMetrics(got.sums, o);
      expect(m.loss).toBeCloseTo(m.pgLoss - entropyCoef * m.entropy + 0.05 * m.kl, 6);
      expect(Math.abs(m.loss - want.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(want.loss));
      expect(m.tokens).toBeCloseTo(c.weight.reduce((s, w) => s + w, 0), 5);
    }
  });

  test("clip fraction and zero gradient where the clip branch is active; ties take the unclipped side", async () => {
    const o = { clipLow: 0.2, clipHigh: 0.2, entropyCoef: 0, klCoef: 0, denom: 6 };
    // (log-ratio, A): ratio 1.5 A>0 clipped; 0.5 A>0 unclipped; 0.5 A<0 clipped; 1.5 A<0 unclipped;
    // A = 0 is a tie (unclipped); ratio 1 is inside the range; a masked clipped token does not count.
    const rows: [number, number, number][] = [[Math.log(1.5), 1, 1], [Math.log(0.5), 1, 1], [Math.log(0.5), -1, 1], [Math.log(1.5), -1, 1], [Math.log(1.5), 0, 1], [0, 2, 1], [Math.log(1.5), 1, 0]];
    const c: Case = {
      logp: Float32Array.from(rows, ([d]) => d - 1), logpOld: new Float32Array(rows.length).fill(-1),
      adv: Float32Array.from(rows, ([, a]) => a), weight: Float32Array.from(rows, ([, , w]) => w),
      refLogp: new Float32Array(rows.length), entropy: new Float32Array(rows.length),
    };
    const got = await runGpu(c, o, false);
    compare("policyLoss[clip]", c, o, false, got);
    expect(Array.from(got.stats.subarray(7, 14))).toEqual([1, 0, 1, 0, 0, 0, 0]);
    expect(got.dlogp[0]).toBe(0);
    expect(got.dlogp[2]).toBe(0);
    expect(got.dlogp[1]).toBeCloseTo(-0.5 / 6, 6);
    expect(got.dlogp[3]).toBeCloseTo(1.5 / 6, 6);
    expect(policyLossMetrics(got.sums, o).clipFrac).toBeCloseTo(2 / 6, 6);
    // An exact tie at the boundary (ratio = 1 + clipHigh in float64): not clipped, gradient flows.
    const tie = policyLossRef({ logp: [Math.log(1.2)], logpOld: [0], adv: [1], weight: [1] }, { ...o, denom: 1 });
    expect(tie.stats[1]).toBe(0);
    expect(tie.dlogp[0]).toBeCloseTo(-1.2, 12);
  });

  test("the twin's dlogp agrees with finite differences of its loss (KL on, away from clip edges)", () => {
    const n = 200;
    const c = makeCase(n, 99, OPTS);
    for (let i = 0; i < n; i++) if (Number.isNaN(c.logp[i])) c.logp[i] = -1;
    const base = { logp: Array.from(c.logp), logpOld: Array.from(c.logpOld), adv: Array.from(c.adv), weight: Array.from(c.weight), refLogp: Array.from(c.refLogp), entropy: Array.from(c.entropy) };
    const o = { ...OPTS, klCoef: 0.3, denom: 150 };
    const { dlogp } = policyLossRef(base, o);
    const h = 1e-6;
    let clippedSeen = 0;
    for (let i = 0; i < n; i++) {
      const at = (v: number) => policyLossRef({ ...base, logp: base.logp.map((x, j) => (j === i ? v : x)) }, o).loss;
      const fd = (at(base.logp[i]! + h) - at(base.logp[i]! - h)) / (2 * h);
      if (Math.abs(fd - dlogp[i]!) > 1e-7 + 1e-5 * Math.abs(fd)) throw new Error(`policyLossRef.dlogp[${i}]: analytic ${dlogp[i]} fd ${fd}`);
      if (base.weight[i]! > 0 && dlogp[i] === 0) clippedSeen++;
    }
    expect(clippedSeen).toBeGreaterThan(0); // some tokens sit in a clamp or the clip branch
    const m = policyLossRef({ ...base, entropy: base.entropy.map((e, j) => (j === 5 ? e + h : e)) }, o).loss;
    expect((m - policyLossRef(base, o).loss) / h).toBeCloseTo(policyLossRef(base, o).dentropy[5]!, 6);
  });

  test("bad shapes and a KL coefficient without a reference are errors before any dispatch", async () => {
    const gpu = await testGpu();
    const a = poisoned(gpu, [5]);
    const b = poisoned(gpu, [6]);
    const stats = poisoned(gpu, [STAT_ROWS, 5]);
    const before = gpu.recorder.total;
    const inputs = { logp: a, logpOld: a, adv: a, weight: a };
    expect(() => policyLoss(gpu, inputs, { dlogp: a, dentropy: a, stats }, { ...OPTS, klCoef: 0.1, denom: 5 })).toThrow("policyLoss: klCoef 0.1 needs refLogp");
    expect(() => policyLoss(gpu, { ...inputs, adv: b }, { dlogp: a, dentropy: a, stats }, { ...OPTS, denom: 5, klCoef: 0 })).toThrow(/^policyLoss: adv \[6\] f32 must be f32 with N = 5/);
    expect(() => policyLoss(gpu, inputs, { dlogp: a, dentropy: a, stats: b }, { ...OPTS, denom: 5, klCoef: 0 })).toThrow(/^policyLoss: stats \[6\] must be f32 \[6, 5\]/);
    expect(() => policyLoss(gpu, inputs, { dlogp: a, dentropy: a, stats }, { ...OPTS, denom: 0, klCoef: 0 })).toThrow(/denom 0 must be > 0/);
    expect(gpu.recorder.total).toBe(before);
    for (const t of [a, b, stats]) releaseTensor(gpu, t);
  });
});
