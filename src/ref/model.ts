// Float64 twin of the whole model (src/model/forward.ts) on a packed batch, composed from the
// kernel twins: for tests (GPU forward vs this; GPU gradients vs finite differences of this).
// Forward only: a whole-model backward twin would be the GPU code again; differences of a float64
// forward are the independent check. Params are host arrays keyed by longrl name (params.ts).
import type { PackedBatch } from "../model/batch.ts";
import type { ModelConfig } from "../model/config.ts";
import { attentionForwardRef } from "./attention.ts";
import { embeddingForwardRef } from "./embedding.ts";
import { logprobsForwardRef } from "./logprobs.ts";
import { matmulRef } from "./matmul.ts";
import { rmsnormForwardRef } from "./rmsnorm.ts";
import { ropeForwardRef } from "./rope.ts";
import { swigluForwardRef } from "./swiglu.ts";

export type RefParams = Map<string, ArrayLike<number>>;

function get(p: RefParams, name: string): ArrayLike<number> {
  const t = p.get(name);
  if (!t) throw new Error(`modelForwardRef: no parameter ${name}`);
  return t;
}

/** y [N, F] = x [N, K] · Wᵀ (W [F, K]) + bias. */
function linear(x: ArrayLike<number>, w: ArrayLike<number>, N: number, F: number, K: number, bias?: ArrayLike<number>): Float64Array {
  return matmulRef(x, w, N, F, K, { transB: true, bias });
}

function addInto(a: Float64Array, b: ArrayLike<number>): Float64Array {
  for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
  return a;
}

/** Final-normed hidden states [N, C] of every position of the batch. */
export function modelHiddenRef(cfg: ModelConfig, p: RefParams, batch: PackedBatch): Float64Array {
  const { B, T } = batch;
  const N = B * T;
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: Hkv, headDim: D, vocabSize: V } = cfg;
  const dims = { B, T, H, Hkv, D };
  const mask = { segStart: batch.segStart, prefixLen: batch.prefixLen, seqLen: batch.seqLen };
  const rope = { headDim: D, theta: cfg.ropeTheta, positions: batch.positions };
  let x = embeddingForwardRef(batch.ids, get(p, "embed"), V, C);
  for (let l = 0; l < cfg.numLayers; l++) {
    const w = (f: string) => get(p, `layers.${l}.${f}`);
    const n1 = rmsnormForwardRef(x, w("attnNorm"), C, cfg.rmsNormEps).y;
    const q = ropeForwardRef(linear(n1, w("wq"), N, H * D, C, w("bq")), [N, H * D], rope);
    const k = ropeForwardRef(linear(n1, w("wk"), N, Hkv * D, C, w("bk")), [N, Hkv * D], rope);
    const v = linear(n1, w("wv"), N, Hkv * D, C, w("bv"));
    const att = attentionForwardRef(q, k, v, dims, mask).out;
    const mid = addInto(Float64Array.from(x), linear(att, w("wo"), N, C, H * D));
    const n2 = rmsnormForwardRef(mid, w("mlpNorm"), C, cfg.rmsNormEps).y;
    const a = swigluForwardRef(linear(n2, w("wGate"), N, I, C), linear(n2, w("wUp"), N, I, C));
    x = addInto(mid, linear(a, w("wDown"), N, C, I));
  }
  return rmsnormForwardRef(x, get(p, "norm"), C, cfg.rmsNormEps).y;
}

/** logp and entropy at the batch's scored positions (as modelForward returns them). */
export function modelForwardRef(cfg: ModelConfig, p: RefParams, batch: PackedBatch, temperature = 1): { logp: Float64Array; entropy: Float64Array } {
  const C = cfg.hiddenSize;
  const hidden = modelHiddenRef(cfg, p, batch);
  const M = batch.targets.length;
  const rows = new Float64Array(M * C);
  for (let m = 0; m < M; m++) rows.set(hidden.subarray(batch.scoredRows[m]! * C, (batch.scoredRows[m]! + 1) * C), m * C);
  const head = cfg.tieWordEmbeddings ? get(p, "embed") : get(p, "lmHead");
  const { logp, entropy } = logprobsForwardRef(rows, head, batch.targets, M, C, cfg.vocabSize, { temperature });
  return { logp, entropy };
}
