// The whole model on a packed batch (batch.ts): embedding → decoder layers → final norm → the
// log-prob and entropy of each scored position's target (the LM head runs on scored rows only, in
// chunks: kernels/logprobs.ts). Backward from d loss / d logp and d loss / d entropy, with optional
// per-layer activation recomputation (keep each layer's input only; rerun the layer in backward).
// Generation's prefill and decode live in generate.ts; this file is the training/scoring path.
// Letters: B rows, T tokens, N = B·T, M scored positions, C channels, V vocab.
import { type Gpu, type Tensor, createTensor, profilePart, releaseTensor, tensorFrom, zeroTensor } from "../gpu/index.ts";
import { embeddingBackward, embeddingForward } from "../kernels/embedding.ts";
import { logprobsBackward, logprobsForward } from "../kernels/logprobs.ts";
import { rmsnormBackward, rmsnormForward } from "../kernels/rmsnorm.ts";
import { runError } from "../util/errors.ts";
import type { PackedBatch } from "./batch.ts";
import type { ModelConfig } from "./config.ts";
import { attentionOptions, type LayerInputs, type LayerSaved, layerBackward, layerForward, releaseLayerSaved } from "./layer.ts";
import { type Params, modelView } from "./params.ts";

/** A packed batch on the GPU. */
export interface DeviceBatch {
  host: PackedBatch;
  ids: Tensor; // u32 [N]
  inputs: LayerInputs;
  segStart: Tensor; // u32 [B, T]
  prefixLen: Tensor; // u32 [B]
  seqLen: Tensor; // u32 [B]
  scoredRows: Tensor; // u32 [M]
  targets: Tensor; // u32 [M]
}

export function uploadBatch(gpu: Gpu, cfg: ModelConfig, host: PackedBatch): DeviceBatch {
  const { B, T } = host;
  for (let i = 0; i < host.ids.length; i++) {
    if (host.ids[i]! >= cfg.vocabSize) throw runError(`batch: token id ${host.ids[i]} at position ${i} is outside the model's vocabulary of ${cfg.vocabSize}`);
  }
  for (let i = 0; i < host.targets.length; i++) {
    if (host.targets[i]! >= cfg.vocabSize) throw runError(`batch: target id ${host.targets[i]} is outside the model's vocabulary of ${cfg.vocabSize}`);
  }
  const u = (a: Uint32Array, shape: number[], label: string) => tensorFrom(gpu, a, shape, "u32", label);
  const segStart = u(host.segStart, [B, T], "batch.segStart");
  const prefixLen = u(host.prefixLen, [B], "batch.prefixLen");
  const seqLen = u(host.seqLen, [B], "batch.seqLen");
  const M = host.targets.length;
  return {
    host,
    ids: u(host.ids, [B * T], "batch.ids"),
    inputs: { B, T, positions: u(host.positions, [B * T], "batch.positions"), attention: attentionOptions(cfg, { segStart, prefixLen, seqLen }) },
    segStart,
    prefixLen,
    seqLen,
    scoredRows: u(M ? host.scoredRows : new Uint32Array(1), [Math.max(M, 1)], "batch.scoredRows"),
    targets: u(M ? host.targets : new Uint32Array(1), [Math.max(M, 1)], "batch.targets"),
  };
}

export function releaseBatch(gpu: Gpu, d: DeviceBatch): void {
  for (const t of [d.ids, d.inputs.positions, d.segStart, d.prefixLen, d.seqLen, d.scoredRows, d.targets]) releaseTensor(gpu, t);
}

export interface ForwardOptions {
  /** Logits are divided by it (the rollout temperature for RL log-probs; default 1). */
  temperature?: number;
  /** Keep what the backward needs (default false: inference only). */
  train?: boolean;
  /** With train: keep only each layer's input and recompute the layer in backward. */
  recompute?: boolean;
}

/** What modelBackward needs; release with releaseForward. */
export interface ForwardState {
  batch: DeviceBatch;
  opts: ForwardOptions;
  /** Layer inputs x_0 .. x_L ([N, C] each; x_L is the last layer's output). */
  xs: Tensor[];
  /** Per-layer activations (absent with recompute or without train). */
  saved: (LayerSaved | undefined)[];
  rstdF: Tensor; // [N]
  hidden: Tensor; // [M, C] final-normed rows of the scored positions
  lse: Tensor; // [M]
}

export interface ForwardResult {
  /** log p(target) per scored position [M] (M ≥ 1 tensor; 0 when the batch scores nothing). */
  logp: Tensor;
  /** Entropy of the next-token distribution per scored position [M]. */
  entropy: Tensor;
  state: ForwardState;
}

/** Runs the model over a batch; logp/entropy are at the batch's scored positions. */
export function modelForward(gpu: Gpu, cfg: ModelConfig, params: Params, batch: DeviceBatch, opts: ForwardOptions = {}): ForwardResult {
  profilePart(gpu, "forward");
  const view = modelView(cfg, params);
  const { B, T } = batch.host;
  const N = B * T;
  const C = cfg.hiddenSize;
  const M = Math.max(1, batch.host.targets.length);
  const train = opts.train ?? false;
  const x0 = createTensor(gpu, [N, C], "f32", "model.x0");
  embeddingForward(gpu, batch.ids, view.embed, x0);
  const xs = [x0];
  const saved: (LayerSaved | undefined)[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const { out, saved: s } = layerForward(gpu, cfg, view.layers[l]!, xs[l]!, batch.inputs);
    if (train && !opts.recompute) saved.push(s);
    else {
      releaseLayerSaved(gpu, s);
      saved.push(undefined);
    }
    xs.push(out);
    if (!train) releaseTensor(gpu, xs[l]!);
  }
  const xL = xs[cfg.numLayers]!;
  const rstdF = createTensor(gpu, [N], "f32", "model.rstdF");
  const normed = createTensor(gpu, [N, C], "f32", "model.normed");
  rmsnormForward(gpu, xL, view.norm, normed, rstdF, cfg.rmsNormEps);
  // Gather the scored rows: the embedding kernel's gather with row indices as ids.
  const hidden = createTensor(gpu, [M, C], "f32", "model.hidden");
  embeddingForward(gpu, batch.scoredRows, normed, hidden);
  releaseTensor(gpu, normed);
  const logp = createTensor(gpu, [M], "f32", "model.logp");
  const entropy = createTensor(gpu, [M], "f32", "model.entropy");
  const lse = createTensor(gpu, [M], "f32", "model.lse");
  logprobsForward(gpu, hidden, view.lmHead, batch.targets, { logp, entropy, lse }, { temperature: opts.temperature ?? 1 });
  const state: ForwardState = { batch, opts, xs: train ? xs : [xL], saved, rstdF, hidden, lse };
  return { logp, entropy, state };
}

/** Releases the forward's kept tensors (not the batch, not logp/entropy). */
export function releaseForward(gpu: Gpu, st: ForwardState): void {
  for (const s of st.saved) if (s) releaseLayerSaved(gpu, s);
  for (const x of st.xs) if (!x.released) releaseTensor(gpu, x);
  for (const t of [st.rstdF, st.hidden, st.lse]) releaseTensor(gpu, t);
  st.saved = [];
  st.xs = [];
}

/**
 * Adds the gradients of loss = Σ dlogp·logp + Σ dentropy·entropy to grads (+=, zero them first
 * for a fresh step). dlogp/dentropy are [M] tensors (either may be absent). Consumes the state.
 */
export function modelBackward(
  gpu: Gpu, cfg: ModelConfig, params: Params, grads: Params, res: ForwardResult, d: { dlogp?: Tensor; dentropy?: Tensor },
): void {
  const st = res.state;
  if (!(st.opts.train ?? false)) throw runError("modelBackward: the forward ran without train: true; nothing was kept for the backward");
  profilePart(gpu, "backward");
  const view = modelView(cfg, params);
  const gview = modelView(cfg, grads);
  const batch = st.batch;
  const { B, T } = batch.host;
  const N = B * T;
  const C = cfg.hiddenSize;
  const temperature = st.opts.temperature ?? 1;

  // LM head (dW into the embedding's gradient when tied), then scatter the rows back to [N, C].
  const dhidden = createTensor(gpu, [st.hidden.shape[0]!, C], "f32", "model.dhidden");
  logprobsBackward(gpu, st.hidden, view.lmHead, batch.targets, { lse: st.lse, entropy: res.entropy }, d, dhidden, gview.lmHead, { temperature });
  const dnormed = createTensor(gpu, [N, C], "f32", "model.dnormed");
  zeroTensor(gpu, dnormed);
  if (batch.host.targets.length) embeddingBackward(gpu, batch.host.scoredRows, dhidden, dnormed);
  releaseTensor(gpu, dhidden);
  const dx = createTensor(gpu, [N, C], "f32", "model.dx");
  rmsnormBackward(gpu, st.xs[cfg.numLayers]!, view.norm, st.rstdF, dnormed, dx, gview.norm, { accumulate: true });
  releaseTensor(gpu, dnormed);

  for (let l = cfg.numLayers - 1; l >= 0; l--) {
    let s = st.saved[l];
    if (!s) {
      const rerun = layerForward(gpu, cfg, view.layers[l]!, st.xs[l]!, batch.inputs);
      releaseTensor(gpu, rerun.out);
      s = rerun.saved;
    }
    layerBackward(gpu, cfg, view.layers[l]!, gview.layers[l]!, s, dx, batch.inputs);
    releaseLayerSaved(gpu, s);
    st.saved[l] = undefined;
    releaseTensor(gpu, st.xs[l + 1]!);
  }
  embeddingBackward(gpu, batch.host.ids, dx, gview.embed);
  releaseTensor(gpu, dx);
  releaseForward(gpu, st);
}
