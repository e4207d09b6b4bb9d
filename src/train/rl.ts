// Curriculum-guided phased RL (design.md §5; QwenLong-L1 with DAPO's refinements). One step:
//   1. draw prompts: the phase's pool, plus hard prompts of earlier phases (retrospective sampling);
//   2. G rollouts per prompt from one prefill each (generate.ts), with their policy log-probs;
//   3. rewards: rule, the judge where the rule says < 1, DAPO overlong shaping;
//   4. DAPO dynamic sampling: drop groups whose G rollouts are all right or all wrong, draw again
//      (up to rl.dynamicSampling.maxRounds rounds) to fill the batch;
//   5. GRPO advantages within each group;
//   6. for each mini-batch: clipped token-level policy loss (+ entropy bonus, + k3 KL to a frozen
//      reference when rl.klCoef > 0, its log-probs computed once per step however many passes
//      rl.updatesPerBatch makes) over micro-batches packed one group per row, one AdamW step.
// The old log-probs are the sampler's (equal to a forward's: tests/model/generate.test.ts), so the
// first update of a step is on-policy (ratio 1), as in verl with ppo_epochs 1 and one mini-batch.
// Every random draw is keyed by (seed, step, round), so a resumed run replays an uninterrupted one.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CurriculumPhase, rlPhases } from "../config/schema.ts";
import { type Tensor, copyRows, copyTensor, createTensor, profileStage, readScalar, readTensor, releaseTensor, tensorFrom } from "../gpu/index.ts";
import { adamwStep } from "../kernels/optimizer.ts";
import { STAT_ROWS, policyLoss, policyLossMetrics } from "../kernels/policy_loss.ts";
import { type GroupSpec, packGroups } from "../model/batch.ts";
import { modelBackward, modelForward, releaseBatch, releaseForward, uploadBatch } from "../model/forward.ts";
import { generate, type Sample } from "../model/generate.ts";
import { allocateLike, type Params } from "../model/params.ts";
import { computeRewards, type RewardItem, type RewardResult } from "../reward/hybrid.ts";
import { type PhasePlan, partitionPhases } from "../curriculum/phases.ts";
import {
  type DifficultyMemory, type DifficultyMemoryJson, type Sampler, type SamplerState,
  createMemory, createSampler, drawBatch, memoryFromJson, memoryToJson, rememberReward, samplerState,
} from "../curriculum/retrospective.ts";
import { grpoAdvantages } from "../rl/advantages.ts";
import { accumulate, createDynamicState, finish, wantsMore } from "../rl/dynamic.ts";
import { usageError } from "../util/errors.ts";
import { mix32 } from "../util/rng.ts";
import type { Example } from "./data.ts";
import { MID_EVAL_PREFIX } from "./report.ts";
import { type Session, endOfStep, logMetrics, lrAt, newOptimizer, zeroGrads } from "./session.ts";

/** What the curriculum sees of an example. */
export interface RlRecord {
  id: string;
  promptTokens: number;
  example: Example;
}

/** trainer_state.json's `rl`: the difficulty memory and the current phase's sampler. */
export interface RlState {
  memory: DifficultyMemoryJson;
  sampler: SamplerState | null;
}

/** One prompt's G rollouts, scored. `scores` (hybrid, before the overlong term) drives dynamic sampling. */
export interface RolloutGroup {
  record: RlRecord;
  samples: Sample[];
  texts: string[];
  results: RewardResult[];
  scores: number[];
  /** What the policy is trained on: hybrid + overlong penalty. */
  rewards: number[];
  round: number;
  fromRetro: boolean;
}

/** The phase plan of a run: RL records (prompts that leave room for rl.maxResponseTokens) split by length. */
export function rlPlan(s: Session): PhasePlan<RlRecord> {
  const { cfg, model } = s;
  const room = model.maxPositions - cfg.rl.maxResponseTokens;
  const phases = cfg.curriculum.phases;
  phases.forEach((p, k) => {
    if (p.maxPromptTokens > room) {
      throw usageError(`curriculum.phases.${k}.maxPromptTokens ${p.maxPromptTokens} + rl.maxResponseTokens ${cfg.rl.maxResponseTokens} exceeds the model's ${model.maxPositions} positions; lower one of them`);
    }
  });
  const records = s.data.train.map((e) => ({ id: e.record.id, promptTokens: e.promptIds.length, example: e }));
  return partitionPhases(records, phases, cfg.curriculum.enable, cfg.curriculum.cumulative);
}

function rlState(s: Session): RlState {
  if (!s.state.rl) s.state.rl = { memory: memoryToJson(createMemory()), sampler: null } satisfies RlState;
  return s.state.rl as RlState;
}

/** Steps of all phases before `phase` (the RL step index for the lr schedule and the metrics). */
function stepsBefore(phases: readonly CurriculumPhase[], phase: number): number {
  return phases.slice(0, phase).reduce((n, p) => n + p.steps, 0);
}

/** Seed of a step's round of rollouts: distinct per (run seed, global step, round). */
function rolloutSeed(seed: number, step: number, round: number): number {
  return mix32(mix32(mix32(seed >>> 0) ^ step) ^ (round + 0x524f4c4c));
}

/** The frozen reference model for the KL term: a copy of the policy when RL begins (kept in checkpoints). */
export function ensureReference(s: Session): Params | undefined {
  if (!rlPhases(s.cfg).some((p) => (p.klCoef ?? s.cfg.rl.klCoef) > 0)) return undefined;
  if (!s.ref) {
    s.ref = allocateLike(s.gpu, s.model, "");
    for (const [name, t] of s.params) copyTensor(s.gpu, t, s.ref.get(name)!);
  }
  return s.ref;
}

/** Rolls out one round: G samples per record, decoded and scored. */
async function rollout(s: Session, records: RlRecord[], fromRetro: number, step: number, round: number): Promise<RolloutGroup[]> {
  const o = s.cfg.rl;
  const { tokenizer, stopIds } = s.data;
  const samples = await generate(s.gpu, s.model, s.params, records.map((r) => r.example.promptIds), {
    n: o.groupSize, maxNewTokens: o.maxResponseTokens, temperature: o.temperature, topP: o.topP, topK: o.topK,
    seed: rolloutSeed(s.cfg.seed, step, round), stopIds,
  });
  const texts = samples.map((x) => tokenizer.decode(x.ids.filter((id) => !stopIds.includes(id))));
  const items = samples.map((x, j): RewardItem => {
    const e = records[x.prompt]!.example;
    return { response: texts[j]!, groundTruth: e.record.answer, dataSource: e.record.dataSource, category: e.record.category, question: e.record.question, responseTokens: x.ids.length };
  });
  const opts = { ...s.cfg.reward, overlong: { ...s.cfg.reward.overlong, maxResponseTokens: o.maxResponseTokens } };
  const { results } = await (s.scoreRollouts ?? computeRewards)(items, opts, s.judge);
  const G = o.groupSize;
  return records.map((record, i) => {
    const rs = results.slice(i * G, (i + 1) * G);
    return {
      record, samples: samples.slice(i * G, (i + 1) * G), texts: texts.slice(i * G, (i + 1) * G), results: rs,
      scores: rs.map((r) => r.hybrid), rewards: rs.map((r) => r.score), round, fromRetro: i >= records.length - fromRetro,
    };
  });
}

/** One sequence of a mini-batch: a rollout's response with its advantage. */
interface Seq {
  group: number;
  ids: number[];
  logps: number[];
  adv: number;
}

/** Splits a mini-batch's sequences into micro-batches of `size`, each packed one group (or part of one) per row. */
function microBatches(seqs: Seq[], size: number, prompts: readonly (readonly number[])[]): { specs: GroupSpec[]; seqs: Seq[] }[] {
  const out: { specs: GroupSpec[]; seqs: Seq[] }[] = [];
  for (let i = 0; i < seqs.length; i += size) {
    const chunk = seqs.slice(i, i + size);
    const specs: GroupSpec[] = [];
    let last = -1;
    for (const q of chunk) {
      if (q.group !== last) specs.push({ prompt: prompts[q.group]!, responses: [] });
      (specs.at(-1)!.responses as number[][]).push(q.ids);
      last = q.group;
    }
    out.push({ specs, seqs: chunk });
  }
  return out;
}

interface UpdateStats {
  sums: Float64Array;
  denom: number;
  gradNorm: number;
  lr: number;
}

/**
 * The frozen reference's log-probs of a mini-batch's micro-batches, computed in the step's first pass over the
 * batch and reused by the later ones (rl.updatesPerBatch > 1): the reference and the batch do not change.
 */
type RefCache = (Tensor | undefined)[];

/** For tests: false recomputes the reference's log-probs in every pass, as before the cache (the results must not differ). */
export const referenceCache = { enabled: true };

/** One policy update on a mini-batch: forward/backward per micro-batch, then AdamW. */
async function update(s: Session, seqs: Seq[], prompts: readonly (readonly number[])[], lr: number, klCoef: number, ref: Params | undefined, refCache?: RefCache): Promise<UpdateStats> {
  const o = s.cfg.rl;
  const { gpu, model, params, grads } = s;
  const denom = seqs.reduce((n, q) => n + q.ids.length, 0);
  // The gradient's normalizer: the mini-batch's token count, or (scaleShortBatch) that count grown to a full
  // mini-batch's, so that a short one moves the policy in proportion to the groups it has. Metrics keep denom.
  const gradDenom = o.dynamicSampling.scaleShortBatch ? (denom * o.miniBatchSize) / new Set(seqs.map((q) => q.group)).size : denom;
  // Each micro-batch's stat sums go to a row of one tensor, read back once after the update is recorded.
  const mbs = microBatches(seqs, o.microBatchSize, prompts);
  const partSums = createTensor(gpu, [mbs.length, STAT_ROWS], "f32", "rl.partSums");
  zeroGrads(s);
  for (const [p, mb] of mbs.entries()) {
    const packed = packGroups(mb.specs);
    const M = packed.targets.length;
    const dev = uploadBatch(gpu, model, packed);
    const f32 = (a: number[]) => tensorFrom(gpu, new Float32Array(a), [M]);
    const logpOld = f32(mb.seqs.flatMap((q) => q.logps));
    const adv = f32(mb.seqs.flatMap((q) => q.ids.map(() => q.adv)));
    const weight = f32(new Array<number>(M).fill(1));
    let refLogp = refCache?.[p];
    if (ref && !refLogp) {
      const r = modelForward(gpu, model, ref, dev, { temperature: o.temperature });
      releaseForward(gpu, r.state);
      releaseTensor(gpu, r.entropy);
      refLogp = r.logp;
      if (refCache) refCache[p] = refLogp;
    }
    const res = modelForward(gpu, model, params, dev, { temperature: o.temperature, train: true, recompute: s.cfg.model.recompute });
    const dlogp = createTensor(gpu, [M], "f32", "rl.dlogp");
    const dentropy = createTensor(gpu, [M], "f32", "rl.dentropy");
    const stats = createTensor(gpu, [STAT_ROWS, M], "f32", "rl.stats");
    const sumT = createTensor(gpu, [STAT_ROWS], "f32", "rl.sums");
    policyLoss(gpu, { logp: res.logp, logpOld, adv, weight, refLogp, entropy: res.entropy }, { dlogp, dentropy, stats, sums: sumT }, {
      clipLow: o.clipLow, clipHigh: o.clipHigh, entropyCoef: o.entropyCoef, klCoef, denom: gradDenom,
    });
    modelBackward(gpu, model, params, grads, res, { dlogp, dentropy: o.entropyCoef !== 0 ? dentropy : undefined });
    copyRows(gpu, sumT, 0, partSums, p, 1, STAT_ROWS);
    for (const t of [logpOld, adv, weight, dlogp, dentropy, stats, sumT, res.logp, res.entropy]) releaseTensor(gpu, t);
    if (refLogp && !refCache) releaseTensor(gpu, refLogp);
    releaseBatch(gpu, dev);
  }
  adamwStep(gpu, s.optim!, { step: ++s.state.optimStep, lr });
  const parts = (await readTensor(gpu, partSums)) as Float32Array;
  releaseTensor(gpu, partSums);
  const sums = new Float64Array(STAT_ROWS);
  for (let p = 0; p < mbs.length; p++) for (let i = 0; i < STAT_ROWS; i++) sums[i]! += parts[p * STAT_ROWS + i]!;
  return { sums, denom, gradNorm: await readScalar(gpu, s.optim!.clip, 0), lr };
}

function meanStd(xs: readonly number[]): { mean: number; std: number } {
  if (xs.length === 0) return { mean: NaN, std: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
}

function writeRollouts(s: Session, step: number, phase: number, groups: readonly RolloutGroup[], kept: ReadonlySet<RolloutGroup>, adv: Map<RolloutGroup, Float64Array>): void {
  const dir = join(s.runDir, "rollouts");
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  for (const g of groups) {
    g.samples.forEach((x, j) => {
      const r = g.results[j]!;
      lines.push(JSON.stringify({
        step, phase: phase + 1, id: g.record.id, data_source: g.record.example.record.dataSource, round: g.round, from_retro: g.fromRetro,
        prompt_tokens: g.record.promptTokens, prompt_tail: g.record.example.promptText.slice(-300), sample: j, response: g.texts[j],
        answer: g.record.example.record.answer, pred: r.pred, rule: r.rule, judge: r.judge, hybrid: r.hybrid, penalty: r.penalty, reward: r.score,
        kept: kept.has(g), advantage: adv.get(g)?.[j] ?? null, response_tokens: x.ids.length, finish: x.finish,
      }));
    });
  }
  writeFileSync(join(dir, `step-${step}.jsonl`), `${lines.join("\n")}\n`);
}

/** What the progress bar shows after a step. */
export interface RlStepFields {
  reward_mean: number;
  accuracy: number;
  tokens_per_s: number;
  [k: string]: number;
}

/** One RL step in phase `phase`; logs its metrics line and returns its fields. */
async function rlStep(s: Session, plan: PhasePlan<RlRecord>, sampler: Sampler<RlRecord>, memory: DifficultyMemory, phase: number): Promise<RlStepFields> {
  const o = s.cfg.rl;
  const st = s.state;
  const t0 = performance.now();
  profileStage(s.gpu, "rl");
  const step = st.globalStep + 1;
  const ref = ensureReference(s);
  const dyn = createDynamicState<RolloutGroup>(o.batchSize, o.dynamicSampling.maxRounds, o.dynamicSampling.enable);
  const all: RolloutGroup[] = [];
  const notes: string[] = [];
  let fromRetro = 0;
  let retroPoolSize = 0;
  let poolSize = 0;
  let genTokens = 0;
  let tRollout = 0;
  do {
    const want = dyn.rounds === 0 ? o.batchSize : Math.max(1, o.batchSize - dyn.kept.length);
    const draw = drawBatch(sampler, want);
    if (draw.note && !notes.includes(draw.note)) notes.push(draw.note);
    fromRetro += draw.fromRetro;
    retroPoolSize = draw.retroPoolSize;
    poolSize = draw.poolSize;
    const tr = performance.now();
    const groups = await rollout(s, draw.records, draw.fromRetro, step, dyn.rounds);
    tRollout += performance.now() - tr;
    for (const g of groups) {
      rememberReward(memory, g.record.id, meanStd(g.scores).mean, phase);
      genTokens += g.samples.reduce((n, x) => n + x.ids.length, 0);
    }
    all.push(...groups);
    accumulate(dyn, groups);
  } while (wantsMore(dyn));
  const result = finish(dyn);
  if (result.reason) notes.push(result.reason);

  // Policy updates over mini-batches of the kept groups.
  const kept = result.groups;
  const G = o.groupSize;
  const advantages = grpoAdvantages(kept.flatMap((g) => g.rewards), G);
  const advOf = new Map(kept.map((g, i) => [g, advantages.subarray(i * G, (i + 1) * G)]));
  const prompts = kept.map((g) => g.record.example.promptIds);
  const totalSteps = stepsBefore(plan.phases, plan.phases.length);
  // The phase's own lr and KL coefficient (curriculum.phases.k.lr / klCoef), where it sets them.
  const here = plan.phases[phase]!;
  const lr = lrAt(stepsBefore(plan.phases, phase) + st.stageStep, { ...o, lr: here.lr ?? o.lr }, totalSteps);
  const klCoef = here.klCoef ?? o.klCoef;
  const updates: UpdateStats[] = [];
  const tu = performance.now();
  let trainTokens = 0;
  // Per mini-batch (keyed by its first group), kept only when a later pass reads it.
  const refCaches = new Map<number, RefCache>();
  const reuseRef = o.updatesPerBatch > 1 && referenceCache.enabled;
  for (let epoch = 0; epoch < o.updatesPerBatch; epoch++) {
    for (let i = 0; i < kept.length; i += o.miniBatchSize) {
      let refCache = refCaches.get(i);
      if (reuseRef && !refCache) refCaches.set(i, (refCache = []));
      const seqs: Seq[] = [];
      for (let gi = i; gi < Math.min(kept.length, i + o.miniBatchSize); gi++) {
        const g = kept[gi]!;
        g.samples.forEach((x, j) => seqs.push({ group: gi, ids: x.ids, logps: x.logps, adv: advOf.get(g)![j]! }));
      }
      trainTokens += seqs.reduce((n, q) => n + q.ids.length, 0) + prompts.slice(i, i + o.miniBatchSize).reduce((n, p) => n + p.length, 0);
      updates.push(await update(s, seqs, prompts, lr, klCoef, ref, refCache));
    }
  }
  for (const t of [...refCaches.values()].flat()) if (t) releaseTensor(s.gpu, t);
  const tUpdate = performance.now() - tu;
  st.stageStep++;
  st.globalStep++;
  s.state.rl = { memory: memoryToJson(memory), sampler: samplerState(sampler) } satisfies RlState;

  // Metrics: rewards over every rollout this step drew (all rounds); policy stats averaged over updates.
  const results = all.flatMap((g) => g.results);
  const score = meanStd(results.map((r) => r.score));
  const mean = (f: (r: RewardResult) => number) => meanStd(results.map(f)).mean;
  const lens = all.flatMap((g) => g.samples.map((x) => x.ids.length));
  const pol = updates.map((u) => policyLossMetrics(u.sums, { entropyCoef: o.entropyCoef, klCoef, denom: u.denom }));
  const avg = (f: (m: (typeof pol)[number]) => number) => (pol.length ? pol.reduce((a, m) => a + f(m), 0) / pol.length : NaN);
  const seconds = (performance.now() - t0) / 1000;
  const fields: RlStepFields = {
    lr,
    kl_coef: klCoef,
    loss: avg((m) => m.loss),
    pg_loss: avg((m) => m.pgLoss),
    reward_mean: score.mean,
    reward_std: score.std,
    rule_mean: mean((r) => r.rule),
    judge_mean: results.some((r) => r.judge !== null) ? mean((r) => r.judge ?? 0) : NaN,
    judge_asked: results.filter((r) => r.judge !== null || r.judgeError !== undefined).length,
    judge_failures: results.filter((r) => r.judgeError !== undefined).length,
    hybrid_mean: mean((r) => r.hybrid),
    penalty_mean: mean((r) => r.penalty),
    accuracy: mean((r) => (r.acc ? 1 : 0)),
    groups_kept: kept.length,
    groups_dropped: result.dropped,
    groups_dropped_all_correct: result.droppedAllCorrect,
    rounds: result.rounds,
    clip_frac: avg((m) => m.clipFrac),
    ppo_kl: avg((m) => m.ppoKl),
    kl: avg((m) => m.kl),
    entropy: avg((m) => m.entropy),
    response_len_mean: meanStd(lens).mean,
    response_len_max: Math.max(...lens),
    overlong: results.filter((r) => r.penalty < 0).length,
    retro_share: fromRetro / all.length,
    retro_pool: retroPoolSize,
    pool_size: poolSize,
    memory_size: memory.size,
    grad_norm: updates.length ? updates.reduce((a, u) => a + u.gradNorm, 0) / updates.length : NaN,
    updates: updates.length,
    tokens_per_s: (genTokens + trainTokens) / seconds,
    rollout_tokens_per_s: genTokens / (tRollout / 1000),
    rollout_seconds: tRollout / 1000,
    update_seconds: tUpdate / 1000,
    seconds,
  };
  logMetrics(s, { stage: "rl", phase: phase + 1, step: st.globalStep, stage_step: st.stageStep, epoch: sampler.state.epoch, ...fields, ...(notes.length ? { note: notes.join("; ") } : {}) });
  if (o.rolloutLogInterval > 0 && st.globalStep % o.rolloutLogInterval === 0) writeRollouts(s, st.globalStep, phase, all, new Set(kept), advOf);
  for (const n of notes) process.stderr.write(`longrl: step ${st.globalStep}: ${n}\n`);
  return fields;
}

/**
 * Runs RL phase s.state.phase to its step count (from the saved state when resumed); returns false
 * if stopped early (Ctrl-C, --stop-after) after saving a checkpoint. With eval.rlInterval > 0, `evaluate` runs every
 * that many steps of the phase (not at its last step: the phase-end eval covers it), before the step's checkpoint,
 * so a resumed run neither repeats nor skips one. Evals sample from their own seed: they do not change training.
 */
export async function runRlPhase(
  s: Session,
  plan: PhasePlan<RlRecord>,
  onStep?: (step: number, f: RlStepFields) => void,
  evaluate?: (label: string) => Promise<void>,
): Promise<boolean> {
  const st = s.state;
  const phase = st.phase;
  const o = s.cfg.rl;
  const saved = rlState(s);
  const memory = memoryFromJson(saved.memory);
  const sampler = createSampler(plan.pools, phase, memory, {
    seed: s.cfg.seed, groupSize: o.groupSize, share: s.cfg.retrospective.share, retrospective: s.cfg.retrospective.enable,
  }, saved.sampler?.phase === phase ? saved.sampler : undefined);
  if (!s.optim) newOptimizer(s, o);
  const steps = plan.phases[phase]!.steps;
  while (st.stageStep < steps) {
    const fields = await rlStep(s, plan, sampler, memory, phase);
    onStep?.(st.stageStep, fields);
    const every = s.cfg.eval.rlInterval;
    if (evaluate && every > 0 && st.stageStep % every === 0 && st.stageStep < steps) await evaluate(`${MID_EVAL_PREFIX}${st.globalStep}`);
    const next = await endOfStep(s, steps);
    if (next === "last") break;
    if (next === "stop") return false;
  }
  return true;
}

/** Moves the trainer state to the next phase (the sampler starts fresh there; the memory carries over). */
export function nextPhase(s: Session): void {
  const r = rlState(s);
  r.sampler = null;
  s.state.phase++;
  s.state.stageStep = 0;
}
