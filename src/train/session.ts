// What every stage of a run shares: the GPU model (params, gradients, the stage's optimizer), the
// tokenized data, the run directory with its metrics.jsonl, the trainer state that makes a run
// resumable, and checkpoints: HF directories + optimizer.safetensors + trainer_state.json,
// written atomically (model/checkpoint.ts). Ctrl-C sets a flag; loops finish the step, save, stop.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { RunConfig } from "../config/schema.ts";
import { type Gpu, type Tensor, zeroTensor } from "../gpu/index.ts";
import { type AdamWState, createAdamW, optimizerTensors, releaseOptimizer } from "../kernels/optimizer.ts";
import { loadCheckpoint, saveCheckpoint } from "../model/checkpoint.ts";
import { type ModelConfig, freshConfig } from "../model/config.ts";
import { type Params, allocateLike, createParams, optimParams, releaseParams } from "../model/params.ts";
import { loadTensors, openSafetensors } from "../model/safetensors.ts";
import { COMPACT_VOCAB_FILE } from "../tokenizer/compact.ts";
import type { computeRewards } from "../reward/hybrid.ts";
import type { Judge } from "../reward/judge.ts";
import { runError } from "../util/errors.ts";
import { type RunData, prepareData, vocabPath } from "./data.ts";

export type Stage = "pretrain" | "sft" | "rl" | "done";

/** Everything a resumed run needs besides tensors (trainer_state.json). */
export interface TrainerState {
  stage: Stage;
  /** RL phase index (0-based). */
  phase: number;
  /** Steps done in the current stage (SFT) or phase (RL). */
  stageStep: number;
  /** Steps done over the whole run (checkpoint names). */
  globalStep: number;
  /** AdamW's t of the current stage's optimizer. */
  optimStep: number;
  /** Eval labels already written (eval/<label>.json). */
  evals: string[];
  /** Stage-owned resumable state (data order, sampler, difficulty memory). */
  pretrain?: unknown;
  sft?: unknown;
  rl?: unknown;
}

export interface Session {
  gpu: Gpu;
  cfg: RunConfig;
  runDir: string;
  model: ModelConfig;
  params: Params;
  grads: Params;
  data: RunData;
  optim?: AdamWState;
  state: TrainerState;
  /** Set by SIGINT: loops save a checkpoint after the current step and return. */
  stopRequested: boolean;
  started: number;
  /** The reward judge (null: rule verifiers only). */
  judge: Judge | null;
  /** Progress as plain lines only (--quiet). */
  quietProgress: boolean;
  /** Behave as on Ctrl-C once this global step is done (--stop-after; 0 = never). */
  stopAfter: number;
  /** The frozen reference policy of the KL term (RL with rl.klCoef > 0 only). */
  ref?: Params;
  /** Replaces computeRewards for RL rollouts (programmatic use, as TRL's reward_funcs; tests). */
  scoreRollouts?: typeof computeRewards;
}

export function initialState(): TrainerState {
  return { stage: "pretrain", phase: 0, stageStep: 0, globalStep: 0, optimStep: 0, evals: [] };
}

/** The model config of a run: the HF directory's, or the fresh shape with the data's vocabulary. */
function modelConfig(cfg: RunConfig, data: RunData): ModelConfig {
  const eos = data.stopIds[0] ?? null;
  const vocabSize = cfg.model.fresh.vocabSize || data.tokenizer.vocabSize;
  if (vocabSize < data.tokenizer.vocabSize) throw runError(`model.fresh.vocabSize ${vocabSize} < the tokenizer's ${data.tokenizer.vocabSize} ids; set it to 0 (= the tokenizer's)`);
  return freshConfig({ ...cfg.model.fresh, vocabSize, eosTokenId: eos }, "model.fresh");
}

/** The newest complete checkpoint of a run directory (checkpoints/step-N), if any. */
export function latestCheckpoint(runDir: string): string | undefined {
  const dir = join(runDir, "checkpoints");
  if (!existsSync(dir)) return undefined;
  const steps = readdirSync(dir)
    .map((n) => /^step-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null && existsSync(join(dir, m[0], "trainer_state.json")))
    .map((m) => Number(m[1]));
  if (steps.length === 0) return undefined;
  return join(dir, `step-${Math.max(...steps)}`);
}

/** Opens a run: fresh (params initialized or loaded from model.path) or resumed from its latest checkpoint. */
export async function openSession(gpu: Gpu, cfg: RunConfig, runDir: string, resume: boolean): Promise<Session> {
  mkdirSync(runDir, { recursive: true });
  const data = prepareData(cfg, vocabPath(runDir));
  const ckpt = resume ? latestCheckpoint(runDir) : undefined;
  let model: ModelConfig;
  let params: Params;
  let state = initialState();
  if (ckpt) {
    ({ config: model, params } = await loadCheckpoint(gpu, ckpt));
    state = JSON.parse(readFileSync(join(ckpt, "trainer_state.json"), "utf8")) as TrainerState;
  } else if (cfg.model.path !== "") {
    ({ config: model, params } = await loadCheckpoint(gpu, cfg.model.path));
  } else {
    model = modelConfig(cfg, data);
    params = createParams(gpu, model, cfg.seed);
  }
  if (model.vocabSize < data.tokenizer.vocabSize) throw runError(`${ckpt ?? cfg.model.path}: the model's vocabulary (${model.vocabSize}) is smaller than the tokenizer's (${data.tokenizer.vocabSize}, ${data.tokenizer.name}); give the model directory as --model DIR (which brings its own tokenizer), or set tokenizer.name= (empty)`);
  const grads = allocateLike(gpu, model, "grad.");
  const s: Session = { gpu, cfg, runDir, model, params, grads, data, state, stopRequested: false, started: performance.now(), judge: null, quietProgress: false, stopAfter: 0 };
  if (ckpt && existsSync(join(ckpt, REFERENCE_FILE))) {
    s.ref = allocateLike(gpu, model, "");
    loadTensors(gpu, openSafetensors(join(ckpt, REFERENCE_FILE)), paramTensors(s.ref));
  }
  if (ckpt && existsSync(join(ckpt, OPTIMIZER_FILE))) {
    s.optim = newOptimizer(s, state.stage === "rl" ? cfg.rl : state.stage === "pretrain" ? cfg.pretrain : cfg.sft);
    const src = openSafetensors(join(ckpt, OPTIMIZER_FILE));
    loadTensors(gpu, src, optimizerTensors(s.optim));
  }
  return s;
}

const OPTIMIZER_FILE = "optimizer.safetensors";
/** The KL term's frozen reference policy (written only when the run has one). */
const REFERENCE_FILE = "reference.safetensors";

function paramTensors(p: Params): { name: string; tensor: Tensor }[] {
  return [...p].map(([name, tensor]) => ({ name, tensor }));
}

/** A fresh AdamW over the model for a stage (betas 0.9/0.999 as QwenLong-L1, or the stage's adamBeta2; lr is set per step). */
export function newOptimizer(s: Session, o: { lr: number; weightDecay: number; maxGradNorm: number; adamBeta2?: number }): AdamWState {
  if (s.optim) releaseOptimizer(s.gpu, s.optim);
  const betas: [number, number] = [0.9, o.adamBeta2 ?? 0.999];
  s.optim = createAdamW(s.gpu, optimParams(s.model, s.params, s.grads), { lr: o.lr, weightDecay: o.weightDecay, maxGradNorm: o.maxGradNorm, betas });
  return s.optim;
}

/** After a step: whether the loop should save and return (Ctrl-C, or --stop-after reached). */
export function shouldStop(s: Session): boolean {
  if (s.stopAfter > 0 && s.state.globalStep >= s.stopAfter) s.stopRequested = true;
  return s.stopRequested;
}

/**
 * The end of a training step of a stage with `total` steps: saves a checkpoint when stopping or at
 * checkpoint.interval (not after the stage's last step: the caller saves at the stage's end).
 * "stop": return early (saved); "last": the stage's steps are done; "next": go on.
 */
export async function endOfStep(s: Session, total: number): Promise<"stop" | "last" | "next"> {
  const stop = shouldStop(s);
  if (s.state.stageStep === total && !stop) return "last";
  const interval = s.cfg.checkpoint.interval;
  if (stop || (interval > 0 && s.state.globalStep % interval === 0)) await saveRunCheckpoint(s);
  return stop ? "stop" : "next";
}

export function zeroGrads(s: Session): void {
  for (const t of s.grads.values()) zeroTensor(s.gpu, t);
}

/** Linear warmup, then cosine decay to lr·minLrRatio over totalSteps (constant when minLrRatio = 1). */
export function lrAt(step: number, o: { lr: number; warmupSteps: number; minLrRatio?: number }, totalSteps: number): number {
  if (o.warmupSteps > 0 && step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const floor = o.minLrRatio ?? 1;
  const span = Math.max(1, totalSteps - o.warmupSteps);
  const progress = Math.min(1, (step - o.warmupSteps) / span);
  return o.lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Appends one metrics line (numbers rounded to 6 significant digits; non-finite as null). */
export function logMetrics(s: Session, line: Record<string, unknown>): void {
  const round = (_k: string, v: unknown) => (typeof v === "number" ? (Number.isFinite(v) ? Number(v.toPrecision(6)) : null) : v);
  appendFileSync(join(s.runDir, "metrics.jsonl"), `${JSON.stringify(line, round)}\n`);
}

/** Saves checkpoints/step-N (model, optimizer, trainer state, tokenizer files) and prunes old ones. */
export async function saveRunCheckpoint(s: Session): Promise<string> {
  const dir = join(s.runDir, "checkpoints", `step-${s.state.globalStep}`);
  const extraFiles: Record<string, string | Uint8Array> = { "trainer_state.json": new TextEncoder().encode(`${JSON.stringify(s.state, null, 1)}\n`) };
  // The tokenizer travels with the weights, so `--model checkpoints/step-N` (and `eval`, `generate`) can read it.
  if (s.data.vocab) extraFiles[COMPACT_VOCAB_FILE] = vocabPath(s.runDir);
  else Object.assign(extraFiles, s.data.tokenizerFiles);
  await saveCheckpoint(s.gpu, dir, {
    config: s.model,
    params: s.params,
    dtype: s.cfg.checkpoint.dtype,
    extraFiles,
    tensorFiles: {
      ...(s.optim ? { [OPTIMIZER_FILE]: optimizerTensors(s.optim) } : {}),
      ...(s.ref ? { [REFERENCE_FILE]: paramTensors(s.ref) } : {}),
    },
  });
  prune(s);
  return dir;
}

function prune(s: Session): void {
  const dir = join(s.runDir, "checkpoints");
  const steps = readdirSync(dir).map((n) => /^step-(\d+)$/.exec(n)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1])).sort((a, b) => b - a);
  for (const n of steps.slice(Math.max(1, s.cfg.checkpoint.keep))) rmSync(join(dir, `step-${n}`), { recursive: true, force: true });
  // Leftovers of an interrupted save (see saveCheckpoint): the renamed-away old copy or the temporary one.
  for (const n of readdirSync(dir)) if (/\.(old|tmp)-\d+$/.test(n)) rmSync(join(dir, n), { recursive: true, force: true });
}

export function closeSession(s: Session): void {
  s.judge?.close();
  if (s.optim) releaseOptimizer(s.gpu, s.optim);
  releaseParams(s.gpu, s.params);
  releaseParams(s.gpu, s.grads);
  if (s.ref) releaseParams(s.gpu, s.ref);
}

