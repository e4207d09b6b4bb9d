// SFT warm-up (design.md §5): next-token loss on the gold response (reasoning, answer sentence,
// end of turn), prompt tokens masked unless sft.promptLossWeight w > 0 (then the loss is the mean
// over response tokens weighted 1 and prompt tokens weighted w; `loss` in the metrics is always the
// response's, `prompt_loss` the prompt's, `eval_loss` the held-out response loss); gradient
// accumulation over micro-batches sorted by length (less padding); AdamW with linear warmup and
// cosine decay. Data order: a seeded shuffle per epoch, resumable from (epoch, position).
import type { SupervisedOptions } from "../config/schema.ts";
import { profileStage, readScalar, readTensor, releaseTensor, tensorFrom } from "../gpu/index.ts";
import { adamwStep } from "../kernels/optimizer.ts";
import { packGroups } from "../model/batch.ts";
import { modelBackward, modelForward, releaseBatch, releaseForward, uploadBatch } from "../model/forward.ts";
import { runError } from "../util/errors.ts";
import { createRng } from "../util/rng.ts";
import { type Example, pretrainDataSeed } from "./data.ts";
import { type Session, endOfStep, logMetrics, lrAt, newOptimizer, zeroGrads } from "./session.ts";

export interface SftCursor {
  epoch: number;
  pos: number;
  /** Examples left out (prompt over data.sftMaxPromptTokens or sequence over sft.maxTokens). */
  skipped: number;
}

/** Examples SFT trains on: short prompts (short-context SFT) whose whole sequence fits sft.maxTokens. */
export function sftExamples(s: Session): { examples: Example[]; skipped: number } {
  const { sftMaxPromptTokens } = s.cfg.data;
  const pool = s.data.sft ?? s.data.train;
  const examples = pool.filter((e) => e.promptIds.length <= sftMaxPromptTokens && e.promptIds.length + e.goldIds.length <= s.cfg.sft.maxTokens);
  if (examples.length === 0) {
    throw runError(`sft: no ${s.data.sft ? "SFT" : "training"} record has a prompt of at most data.sftMaxPromptTokens ${sftMaxPromptTokens} tokens and a sequence of at most sft.maxTokens ${s.cfg.sft.maxTokens}; raise them or use shorter data`);
  }
  return { examples, skipped: pool.length - examples.length };
}

/** The next `n` examples in the epoch-shuffled order, advancing the cursor. */
function draw(examples: Example[], cursor: SftCursor, n: number, seed: number): Example[] {
  const out: Example[] = [];
  let order = createRng(seed, 1000 + cursor.epoch).shuffle(examples.map((_, i) => i));
  while (out.length < n) {
    if (cursor.pos >= order.length) {
      cursor.epoch++;
      cursor.pos = 0;
      order = createRng(seed, 1000 + cursor.epoch).shuffle(examples.map((_, i) => i));
    }
    out.push(examples[order[cursor.pos++]!]!);
  }
  return out;
}

/** Σ log p over a micro-batch's response tokens and over its prompt tokens (the latter scored only when weighted). */
interface MicroSums {
  response: number;
  prompt: number;
}

/**
 * Forward (+ backward when `scale` is given) of a micro-batch of gold sequences. With a prompt weight
 * w > 0 every token after the first is scored (a one-token prefix), the prompt's with upstream -w·scale
 * and the response's with -scale; with w = 0 only the response is scored.
 */
async function microStep(s: Session, batch: Example[], w: number, scale?: number): Promise<MicroSums> {
  const { gpu, model, params, grads } = s;
  const groups = batch.map((e) => (w > 0 ? { prompt: e.promptIds.slice(0, 1), responses: [[...e.promptIds.slice(1), ...e.goldIds]] } : { prompt: e.promptIds, responses: [e.goldIds] }));
  const packed = packGroups(groups);
  const dev = uploadBatch(gpu, model, packed);
  const train = scale !== undefined;
  const res = modelForward(gpu, model, params, dev, { train, recompute: s.cfg.model.recompute });
  const M = packed.targets.length;
  // Which scored positions are prompt tokens: the first P-1 of each span when the prompt is scored.
  const isPrompt = new Uint8Array(M);
  if (w > 0) packed.spans.forEach((sp, i) => isPrompt.fill(1, sp.start, sp.start + batch[i]!.promptIds.length - 1));
  let dlogp;
  if (train) {
    const up = new Float32Array(M);
    for (let m = 0; m < M; m++) up[m] = -(isPrompt[m] ? w : 1) * scale;
    dlogp = tensorFrom(gpu, up, [M]);
    modelBackward(gpu, model, params, grads, res, { dlogp });
  } else releaseForward(gpu, res.state);
  const logp = (await readTensor(gpu, res.logp)) as Float32Array;
  for (const t of [dlogp, res.logp, res.entropy]) if (t) releaseTensor(gpu, t);
  releaseBatch(gpu, dev);
  const sums = { response: 0, prompt: 0 };
  for (let m = 0; m < M; m++) sums[isPrompt[m] ? "prompt" : "response"] += logp[m]!;
  return sums;
}

/** Eval records the held-out loss is measured on (the first that fit; fixed, so the figures compare). */
const HELD_OUT_ITEMS = 32;

/**
 * Held-out response loss (no gradient) over `held`: eval_loss over all of it, and with more than one data
 * source (pretraining's copy lists and recitations) eval_loss_<source> for each, e.g. eval_loss_synth_recite.
 */
async function heldOutLoss(s: Session, held: Example[], microBatchSize: number): Promise<Record<string, number>> {
  const bySource = new Map<string, { sum: number; tokens: number }>();
  for (const e of held) if (!bySource.has(e.record.dataSource)) bySource.set(e.record.dataSource, { sum: 0, tokens: 0 });
  for (const [source, acc] of bySource) {
    const part = held.filter((e) => e.record.dataSource === source);
    for (let i = 0; i < part.length; i += microBatchSize) {
      const mb = part.slice(i, i + microBatchSize);
      acc.sum += (await microStep(s, mb, 0)).response;
      acc.tokens += mb.reduce((n, e) => n + e.goldIds.length, 0);
    }
  }
  if (bySource.size === 0) return {};
  const all = [...bySource.values()].reduce((a, b) => ({ sum: a.sum + b.sum, tokens: a.tokens + b.tokens }));
  const out: Record<string, number> = { eval_loss: -all.sum / all.tokens };
  if (bySource.size > 1) for (const [source, acc] of bySource) out[`eval_loss_${source}`] = -acc.sum / acc.tokens;
  return out;
}

/** What a supervised stage trains on and how: SFT on the run's records, or pretraining on copy lists. */
interface SupervisedStage {
  o: SupervisedOptions;
  examples: Example[];
  skipped: number;
  /** Held-out examples for eval_loss. */
  held: Example[];
  /** Weight of prompt tokens in the loss. */
  w: number;
  /** Seed of the draw order. */
  seed: number;
}

function supervisedStage(s: Session, name: "pretrain" | "sft"): SupervisedStage {
  if (name === "pretrain") return { o: s.cfg.pretrain, examples: s.data.pretrain, skipped: 0, held: s.data.pretrainEval, w: 0, seed: pretrainDataSeed(s.cfg) };
  const o = s.cfg.sft;
  const held = s.data.eval.filter((e) => e.promptIds.length + e.goldIds.length <= o.maxTokens).slice(0, HELD_OUT_ITEMS);
  return { o, ...sftExamples(s), held, w: o.promptLossWeight, seed: s.cfg.seed };
}

/**
 * Runs SFT to sft.steps, or (stage "pretrain") the copy-list pretraining to pretrain.steps, from the
 * session's state when resumed; returns false if stopped early.
 */
export async function runSft(s: Session, onStep?: (step: number, fields: Record<string, number>) => void, name: "pretrain" | "sft" = "sft"): Promise<boolean> {
  const { o, examples, skipped, held, w, seed } = supervisedStage(s, name);
  const st = s.state;
  const cursor = (st[name] as SftCursor | undefined) ?? { epoch: 0, pos: 0, skipped };
  st[name] = cursor;
  if (!s.optim) newOptimizer(s, o);
  while (st.stageStep < o.steps) {
    const t0 = performance.now();
    profileStage(s.gpu, name);
    const batch = draw(examples, cursor, o.batchSize, seed).sort((a, b) => a.promptIds.length + a.goldIds.length - (b.promptIds.length + b.goldIds.length));
    const tokens = batch.reduce((n, e) => n + e.goldIds.length, 0);
    const promptTokens = w > 0 ? batch.reduce((n, e) => n + e.promptIds.length - 1, 0) : 0;
    zeroGrads(s);
    const sums = { response: 0, prompt: 0 };
    for (let i = 0; i < batch.length; i += o.microBatchSize) {
      const part = await microStep(s, batch.slice(i, i + o.microBatchSize), w, 1 / (tokens + w * promptTokens));
      sums.response += part.response;
      sums.prompt += part.prompt;
    }
    const lr = lrAt(st.stageStep, o, o.steps);
    adamwStep(s.gpu, s.optim!, { step: ++st.optimStep, lr });
    const gradNorm = await readScalar(s.gpu, s.optim!.clip, 0);
    st.stageStep++;
    st.globalStep++;
    const seconds = (performance.now() - t0) / 1000;
    const seqTokens = batch.reduce((n, e) => n + e.promptIds.length + e.goldIds.length, 0);
    const fields: Record<string, number> = { loss: -sums.response / tokens, lr, grad_norm: gradNorm, response_tokens: tokens, tokens_per_s: seqTokens / seconds, seconds };
    if (w > 0) fields.prompt_loss = -sums.prompt / promptTokens;
    if ((o.evalInterval > 0 && st.stageStep % o.evalInterval === 0) || st.stageStep === o.steps) {
      Object.assign(fields, await heldOutLoss(s, held, o.microBatchSize));
    }
    logMetrics(s, { stage: name, phase: null, step: st.globalStep, stage_step: st.stageStep, epoch: cursor.epoch, ...fields });
    onStep?.(st.stageStep, fields);
    const next = await endOfStep(s, o.steps);
    if (next === "last") break;
    if (next === "stop") return false;
  }
  return true;
}
