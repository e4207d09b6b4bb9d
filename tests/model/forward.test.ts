// Whole-model forward and backward on the GPU vs the float64 twin (src/ref/model.ts): log-probs
// and entropies at awkward sizes, gradients by finite differences of the twin, shared-prefix
// packing equal to separate sequences, recomputation and accumulation equal to the plain path.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Gpu, type Tensor, readTensor, releaseTensor, tensorFrom, zeroTensor } from "../../src/gpu/index.ts";
import { type GroupSpec, packGroups } from "../../src/model/batch.ts";
import { loadCheckpoint, saveCheckpoint } from "../../src/model/checkpoint.ts";
import { type ModelConfig, freshConfig } from "../../src/model/config.ts";
import { modelBackward, modelForward, releaseBatch, releaseForward, uploadBatch } from "../../src/model/forward.ts";
import { type Params, allocateLike, createParams, paramTable, releaseParams } from "../../src/model/params.ts";
import { type RefParams, modelForwardRef } from "../../src/ref/model.ts";
import { createRng } from "../../src/util/rng.ts";
import { expectClose, randomArray, testGpu } from "../helpers.ts";

function tinyConfig(tie: boolean): ModelConfig {
  return freshConfig({
    vocabSize: 61, hiddenSize: 32, intermediateSize: 37, numLayers: 2, numHeads: 4, numKvHeads: 2,
    ropeTheta: 10000, tieWordEmbeddings: tie, initializerRange: 0.3, rmsNormEps: 1e-6,
  });
}

function randomIds(n: number, V: number, seed: number): number[] {
  const rng = createRng(seed, 7);
  return Array.from({ length: n }, () => Math.floor(rng.next() * V));
}

/** A prompt of 9 tokens with responses of 5, 1 and 6 tokens, and a 1-token prompt with 4. */
function groups(V: number): GroupSpec[] {
  return [
    { prompt: randomIds(9, V, 1), responses: [randomIds(5, V, 2), randomIds(1, V, 3), randomIds(6, V, 4)] },
    { prompt: randomIds(1, V, 5), responses: [randomIds(4, V, 6)] },
  ];
}

/** The same sequences, each prompt + response as its own row. */
function separate(gs: GroupSpec[]): GroupSpec[] {
  return gs.flatMap((g) => g.responses.map((r) => ({ prompt: g.prompt, responses: [r] })));
}

async function hostParams(gpu: Gpu, cfg: ModelConfig, params: Params): Promise<RefParams> {
  const out: RefParams = new Map();
  for (const row of paramTable(cfg)) out.set(row.name, Float64Array.from((await readTensor(gpu, params.get(row.name)!)) as Float32Array));
  return out;
}

async function scores(gpu: Gpu, cfg: ModelConfig, params: Params, gs: GroupSpec[], temperature = 1) {
  const batch = uploadBatch(gpu, cfg, packGroups(gs));
  const res = modelForward(gpu, cfg, params, batch, { temperature });
  const logp = (await readTensor(gpu, res.logp)) as Float32Array;
  const entropy = (await readTensor(gpu, res.entropy)) as Float32Array;
  releaseForward(gpu, res.state);
  releaseTensor(gpu, res.logp);
  releaseTensor(gpu, res.entropy);
  releaseBatch(gpu, batch);
  return { logp, entropy };
}

/** Gradients of loss = Σ cl·logp + Σ ce·entropy (cl, ce fixed per scored position). */
async function gradients(gpu: Gpu, cfg: ModelConfig, params: Params, gs: GroupSpec[], cl: Float32Array, ce: Float32Array, recompute = false, grads?: Params) {
  const batch = uploadBatch(gpu, cfg, packGroups(gs));
  const res = modelForward(gpu, cfg, params, batch, { train: true, recompute, temperature: 0.8 });
  const g = grads ?? allocateLike(gpu, cfg, "grad.");
  if (!grads) for (const t of g.values()) zeroTensor(gpu, t);
  const dlogp = tensorFrom(gpu, cl, [cl.length]);
  const dentropy = tensorFrom(gpu, ce, [ce.length]);
  modelBackward(gpu, cfg, params, g, res, { dlogp, dentropy });
  for (const t of [dlogp, dentropy, res.logp, res.entropy]) releaseTensor(gpu, t);
  releaseBatch(gpu, batch);
  return g;
}

async function readAll(gpu: Gpu, p: Params): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of p) out.set(k, (await readTensor(gpu, t)) as Float32Array);
  return out;
}

const cleanup: (() => void)[] = [];
afterAll(() => cleanup.forEach((f) => f()));

for (const tie of [false, true]) {
  describe(`model (${tie ? "tied" : "untied"} LM head)`, () => {
    const cfg = tinyConfig(tie);
    let gpu: Gpu;
    let params: Params;
    const gs = groups(cfg.vocabSize);
    const M = packGroups(gs).targets.length;

    test("forward equals the float64 model on a packed batch", async () => {
      gpu = await testGpu();
      params = createParams(gpu, cfg, 11);
      cleanup.push(() => releaseParams(gpu, params));
      const ref = modelForwardRef(cfg, await hostParams(gpu, cfg, params), packGroups(gs), 0.7);
      const got = await scores(gpu, cfg, params, gs, 0.7);
      expectClose("model.logp", got.logp, ref.logp, [M], 2e-4, 2e-4);
      expectClose("model.entropy", got.entropy, ref.entropy, [M], 2e-4, 2e-4);
    });

    test("shared-prefix row equals the sequences run separately (log-probs and gradients)", async () => {
      const packed = await scores(gpu, cfg, params, gs);
      const alone = await scores(gpu, cfg, params, separate(gs));
      expectClose("packed.logp", packed.logp, alone.logp, [M], 1e-5, 1e-5);
      const cl = randomArray(M, 3);
      const ce = randomArray(M, 4, 0.1);
      const g1 = await readAll(gpu, await gradients(gpu, cfg, params, gs, cl, ce));
      const g2 = await readAll(gpu, await gradients(gpu, cfg, params, separate(gs), cl, ce));
      for (const [name, a] of g1) expectClose(`grad.${name}`, a, g2.get(name)!, [a.length], 2e-5, 1e-4);
    });

    test("gradients match finite differences of the float64 model", async () => {
      const cl = randomArray(M, 5);
      const ce = randomArray(M, 6, 0.2);
      const grads = await readAll(gpu, await gradients(gpu, cfg, params, gs, cl, ce));
      const host = await hostParams(gpu, cfg, params);
      const batch = packGroups(gs);
      const loss = () => {
        const r = modelForwardRef(cfg, host, batch, 0.8);
        let s = 0;
        for (let m = 0; m < M; m++) s += cl[m]! * r.logp[m]! + ce[m]! * r.entropy[m]!;
        return s;
      };
      const rng = createRng(9, 1);
      const names = paramTable(cfg).map((r) => r.name).filter((n) => /embed|lmHead|norm|layers\.[01]\.(wq|bq|bk|wv|wo|attnNorm|mlpNorm|wGate|wDown)$/.test(n));
      let checked = 0;
      for (const name of names) {
        const p = host.get(name) as Float64Array;
        for (let k = 0; k < 3; k++) {
          const i = name === "embed" || name === "lmHead" ? gs[0]!.prompt[k]! * cfg.hiddenSize + k : Math.floor(rng.next() * p.length);
          const x0 = p[i]!;
          const eps = 1e-5;
          p[i] = x0 + eps;
          const up = loss();
          p[i] = x0 - eps;
          const down = loss();
          p[i] = x0;
          const fd = (up - down) / (2 * eps);
          const got = grads.get(name)![i]!;
          if (!(Math.abs(got - fd) <= 2e-3 + 2e-3 * Math.abs(fd))) throw new Error(`grad.${name}[${i}]: gpu ${got} finite difference ${fd}`);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(30);
    });

    test("recomputation and gradient accumulation give the plain gradients", async () => {
      const cl = randomArray(M, 7);
      const ce = randomArray(M, 8, 0.1);
      const plain = await readAll(gpu, await gradients(gpu, cfg, params, gs, cl, ce));
      const again = await readAll(gpu, await gradients(gpu, cfg, params, gs, cl, ce, true));
      for (const [name, a] of plain) expectClose(`recompute.${name}`, again.get(name)!, a, [a.length], 1e-6, 1e-5);
      // Two micro-batches (one group each) accumulated = the batch of both.
      const m0 = packGroups([gs[0]!]).targets.length;
      const acc = await gradients(gpu, cfg, params, [gs[0]!], cl.slice(0, m0), ce.slice(0, m0));
      await gradients(gpu, cfg, params, [gs[1]!], cl.slice(m0), ce.slice(m0), false, acc);
      const summed = await readAll(gpu, acc);
      for (const [name, a] of plain) expectClose(`accumulate.${name}`, summed.get(name)!, a, [a.length], 2e-5, 1e-4);
    });

    test("a checkpoint saved then loaded gives identical log-probs", async () => {
      const dir = mkdtempSync(join(tmpdir(), "longrl-fwd-"));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      await saveCheckpoint(gpu, join(dir, "ckpt"), { config: cfg, params });
      const loaded = await loadCheckpoint(gpu, join(dir, "ckpt"));
      const a = await scores(gpu, cfg, params, gs);
      const b = await scores(gpu, loaded.config, loaded.params, gs);
      releaseParams(gpu, loaded.params);
      expect(Array.from(b.logp)).toEqual(Array.from(a.logp));
    });
  });
}

test("the model rejects an id outside its vocabulary", async () => {
  const gpu = await testGpu();
  const cfg = tinyConfig(true);
  expect(() => uploadBatch(gpu, cfg, packGroups([{ prompt: [1, 2], responses: [[3, 61]] }]))).toThrow(/outside the model's vocabulary of 61/);
});

test("packing lays out prefix, segments, positions and targets", () => {
  const b = packGroups([{ prompt: [10, 11, 12], responses: [[20, 21], [30]] }], { padTo: 6 });
  expect(Array.from(b.ids)).toEqual([10, 11, 12, 20, 12, 0]);
  expect(Array.from(b.positions)).toEqual([0, 1, 2, 3, 2, 0]);
  expect(Array.from(b.segStart)).toEqual([0, 0, 2, 2, 4, 0]);
  expect(Array.from(b.targets)).toEqual([20, 21, 30]);
  expect(Array.from(b.scoredRows)).toEqual([2, 3, 4]);
  expect([b.prefixLen[0], b.seqLen[0], b.tokens]).toEqual([2, 5, 5]);
  expect(b.spans).toEqual([{ group: 0, response: 0, start: 0, count: 2 }, { group: 0, response: 1, start: 2, count: 1 }]);
});
