// `longrl bench model`: the model's speeds where the recipe spends its time, each as a ratio to
// the naive way measured in the same run: sampling G responses from one prefill (shared-prefix
// KV cache) vs G separate prefills, and a GRPO group's forward+backward as one shared-prefix row
// vs G full sequences. Also prefill and decode tokens/s and training tokens/s. Two shapes: the
// demo's tiny model, and a Qwen2.5-0.5B-shaped stack (C 896, I 4864, H 14, Hkv 2; fewer layers).
// Wall-clock, host work included (what a training step sees). Validation first: the packed and
// separate runs must give the same log-probs, and decoding the same as a full forward.
import { type Gpu, readTensor, releaseTensor, sync, tensorFrom, zeroTensor } from "../src/gpu/index.ts";
import { type GroupSpec, packGroups } from "../src/model/batch.ts";
import { type ModelConfig, FRESH_DEFAULTS, freshConfig } from "../src/model/config.ts";
import { modelBackward, modelForward, releaseBatch, releaseForward, uploadBatch } from "../src/model/forward.ts";
import { generate } from "../src/model/generate.ts";
import { type Params, allocateLike, createParams, releaseParams } from "../src/model/params.ts";
import { runError } from "../src/util/errors.ts";
import { createRng } from "../src/util/rng.ts";
import type { BenchRow } from "./types.ts";

export interface ModelBenchOptions {
  shape: "tiny" | "0.5b";
  /** Decoder layers (default: tiny 4, 0.5b 2). */
  layers?: number;
  /** Vocabulary (default: tiny 4096, 0.5b 151936). */
  vocab?: number;
  prompt: number;
  group: number;
  response: number;
}

export function benchConfig(o: ModelBenchOptions): ModelConfig {
  if (o.shape === "tiny") return freshConfig({ ...FRESH_DEFAULTS, numLayers: o.layers ?? FRESH_DEFAULTS.numLayers, vocabSize: o.vocab ?? FRESH_DEFAULTS.vocabSize });
  return freshConfig({
    vocabSize: o.vocab ?? 151936, hiddenSize: 896, intermediateSize: 4864, numLayers: o.layers ?? 2, numHeads: 14, numKvHeads: 2,
    ropeTheta: 1e6, tieWordEmbeddings: true,
  });
}

function ids(n: number, V: number, seed: number): number[] {
  const rng = createRng(seed, 3);
  return Array.from({ length: n }, () => Math.floor(rng.next() * V));
}

async function timed<T>(gpu: Gpu, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  await sync(gpu, "bench model");
  const t = performance.now();
  const value = await fn();
  await sync(gpu, "bench model");
  return { ms: performance.now() - t, value };
}

/** Forward + backward of the groups (one optimizer micro-step); returns the log-probs. */
async function trainStep(gpu: Gpu, cfg: ModelConfig, params: Params, grads: Params, groups: GroupSpec[]): Promise<Float32Array> {
  const batch = uploadBatch(gpu, cfg, packGroups(groups));
  const res = modelForward(gpu, cfg, params, batch, { train: true });
  const M = batch.host.targets.length;
  const dlogp = tensorFrom(gpu, new Float32Array(M).fill(-1 / M), [M]);
  modelBackward(gpu, cfg, params, grads, res, { dlogp });
  const logp = (await readTensor(gpu, res.logp)) as Float32Array;
  for (const t of [dlogp, res.logp, res.entropy]) releaseTensor(gpu, t);
  releaseBatch(gpu, batch);
  return logp;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export async function benchModel(gpu: Gpu, o: ModelBenchOptions, onRow?: (r: BenchRow) => void): Promise<BenchRow[]> {
  const cfg = benchConfig(o);
  const { prompt: P, group: G, response: Rn } = o;
  const params = createParams(gpu, cfg, 1);
  const grads = allocateLike(gpu, cfg, "grad.");
  for (const t of grads.values()) zeroTensor(gpu, t);
  const rows: BenchRow[] = [];
  const shape = `${o.shape} L=${cfg.numLayers} C=${cfg.hiddenSize} V=${cfg.vocabSize}`;
  const add = (r: BenchRow) => {
    rows.push(r);
    onRow?.(r);
  };
  try {
    const prompt = ids(P, cfg.vocabSize, 1);
    const sampling = { temperature: 1, seed: 1 };
    await generate(gpu, cfg, params, [prompt.slice(0, 8)], { n: 2, maxNewTokens: 2, ...sampling }); // warm-up: pipelines

    // Prefill alone (one new token), then decoding at batch 1 and batch G from one prefill.
    const pre = await timed(gpu, () => generate(gpu, cfg, params, [prompt], { n: 1, maxNewTokens: 1, ...sampling }));
    add({ kernel: "model prefill", shape: `${shape} prompt=${P}`, ms: pre.ms, rate: (P / pre.ms) * 1000, unit: "tokens/s" });
    const one = await timed(gpu, () => generate(gpu, cfg, params, [prompt], { n: 1, maxNewTokens: Rn, ...sampling }));
    add({ kernel: "model decode, batch 1", shape: `${shape} prompt=${P} new=${Rn}`, ms: one.ms - pre.ms, rate: ((Rn - 1) / (one.ms - pre.ms)) * 1000, unit: "tokens/s" });
    const shared = await timed(gpu, () => generate(gpu, cfg, params, [prompt], { n: G, maxNewTokens: Rn, ...sampling }));
    const separate = await timed(gpu, () => generate(gpu, cfg, params, new Array(G).fill(prompt), { n: 1, maxNewTokens: Rn, ...sampling }));
    const samples = shared.value;
    if (separate.value.some((s, i) => s.ids.length !== samples[i]!.ids.length)) throw runError("bench model: shared and separate prefills sampled different lengths");
    add({
      kernel: `model sample G=${G}, shared prefix`, shape: `${shape} prompt=${P} new=${Rn}`, ms: shared.ms, rate: ((G * Rn) / shared.ms) * 1000, unit: "tokens/s",
      baseline: `${G} separate prefills`, baselineMs: separate.ms, ratio: separate.ms / shared.ms,
    });

    // A GRPO group's forward+backward: one shared-prefix row vs G full sequences.
    const group: GroupSpec = { prompt, responses: samples.map((s) => s.ids) };
    const apart = samples.map((s) => ({ prompt, responses: [s.ids] }));
    await trainStep(gpu, cfg, params, grads, [{ prompt: prompt.slice(0, 8), responses: [samples[0]!.ids] }]); // warm-up
    const packed = await timed(gpu, () => trainStep(gpu, cfg, params, grads, [group]));
    const alone = await timed(gpu, () => trainStep(gpu, cfg, params, grads, apart));
    const diff = maxDiff(packed.value, alone.value);
    if (!(diff < 2e-3)) throw runError(`bench model: packed and separate log-probs differ by ${diff}`);
    const decodeDiff = maxDiff(packed.value.subarray(0, samples[0]!.ids.length), samples[0]!.logps);
    if (!(decodeDiff < 2e-3)) throw runError(`bench model: decoded log-probs differ from the full forward by ${decodeDiff}`);
    const tokens = packGroups([group]).tokens;
    add({
      kernel: `model GRPO group fwd+bwd, shared prefix`, shape: `${shape} prompt=${P} G=${G} response=${Rn}`, ms: packed.ms, rate: (tokens / packed.ms) * 1000, unit: "tokens/s",
      baseline: `${G} full sequences`, baselineMs: alone.ms, ratio: alone.ms / packed.ms,
      notes: `${tokens} packed tokens vs ${packGroups(apart).tokens}; log-probs agree to ${diff.toExponential(1)}`,
    });
    add({ kernel: "model training fwd+bwd", shape: `${shape} ${G} sequences of ${P + Rn - 1}`, ms: alone.ms, rate: (packGroups(apart).tokens / alone.ms) * 1000, unit: "tokens/s" });
  } finally {
    releaseParams(gpu, params);
    releaseParams(gpu, grads);
  }
  return rows;
}
