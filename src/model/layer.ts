// One Qwen2 decoder layer on the kernels, forward (keeping what its backward needs) and backward:
//   mid = x + o_proj(attn(rope(q_proj(n1)), rope(k_proj(n1)), v_proj(n1))),  n1 = rmsnorm(x)
//   out = mid + down_proj(silu(gate_proj(n2)) ⊙ up_proj(n2)),                 n2 = rmsnorm(mid)
// (HF modeling_qwen2.py: biases on q/k/v only). Weight gradients always accumulate (+=), so
// micro-batches add up; the caller zeroes them once per optimizer step.
// Letters: B rows, T tokens, N = B·T, C channels, H heads, Hkv kv heads, D head dim, I MLP width.
import { type Gpu, type Tensor, copyTensor, createTensor, releaseTensor, reshape } from "../gpu/index.ts";
import { attentionBackward, attentionForward, type AttentionOptions } from "../kernels/attention.ts";
import { fill } from "../kernels/elementwise.ts";
import { matmul } from "../kernels/matmul.ts";
import { rmsnormBackward, rmsnormForward } from "../kernels/rmsnorm.ts";
import { ropeBackward, ropeForward } from "../kernels/rope.ts";
import { swigluBackward, swigluForward } from "../kernels/swiglu.ts";
import type { ModelConfig } from "./config.ts";
import type { LayerParams } from "./params.ts";

/** The uploaded batch tensors every layer reads. */
export interface LayerInputs {
  B: number;
  T: number;
  /** u32 [N] RoPE positions. */
  positions: Tensor;
  /** Masks for the batch's own attention (unused when a layer gets another Attend). */
  attention: AttentionOptions;
}

/** A layer's activations kept for its backward (all [N, ·] unless noted). */
export interface LayerSaved {
  x: Tensor; // [N, C] layer input (owned by the caller: the previous layer's output)
  rstd1: Tensor; // [N]
  n1: Tensor; // [N, C]
  q: Tensor; // [N, H*D] after RoPE
  k: Tensor; // [N, Hkv*D] after RoPE
  v: Tensor; // [N, Hkv*D]
  att: Tensor; // [N, H*D]
  lse: Tensor; // [B, H, T]
  mid: Tensor; // [N, C]
  rstd2: Tensor; // [N]
  n2: Tensor; // [N, C]
  g: Tensor; // [N, I]
  u: Tensor; // [N, I]
  a: Tensor; // [N, I]
}

export function attentionOptions(cfg: ModelConfig, batch: { segStart: Tensor; prefixLen: Tensor; seqLen: Tensor }): AttentionOptions {
  return { heads: cfg.numHeads, kvHeads: cfg.numKvHeads, segStart: batch.segStart, prefixLen: batch.prefixLen, seqLen: batch.seqLen };
}

/**
 * The attention step of a layer: q [N, H*D], k, v [N, Hkv*D] (after RoPE) → att [N, H*D]; returns
 * what the backward needs (lse [B, H, T]). Generation swaps in a KV-cache version (generate.ts).
 */
export type Attend = (q: Tensor, k: Tensor, v: Tensor, att: Tensor) => Tensor;

/** Causal (packed, masked) attention over the batch itself: the training and scoring path. */
function attendBatch(gpu: Gpu, cfg: ModelConfig, inp: LayerInputs): Attend {
  const { B, T } = inp;
  const { numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  return (q, k, v, att) => {
    const lse = createTensor(gpu, [B, H, T], "f32", "layer.lse");
    attentionForward(gpu, reshape(q, [B, T, H * D]), reshape(k, [B, T, Hkv * D]), reshape(v, [B, T, Hkv * D]), reshape(att, [B, T, H * D]), lse, inp.attention);
    return lse;
  };
}

/** Runs one layer on x [N, C]; returns its output (a new tensor) and the saved activations. */
export function layerForward(gpu: Gpu, cfg: ModelConfig, w: LayerParams, x: Tensor, inp: LayerInputs, attend: Attend = attendBatch(gpu, cfg, inp)): { out: Tensor; saved: LayerSaved } {
  const { B, T } = inp;
  const N = B * T;
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  const t = (shape: number[], label: string) => createTensor(gpu, shape, "f32", label);
  const rope = { headDim: D, theta: cfg.ropeTheta, positions: inp.positions };

  const rstd1 = t([N], "layer.rstd1");
  const n1 = t([N, C], "layer.n1");
  rmsnormForward(gpu, x, w.attnNorm, n1, rstd1, cfg.rmsNormEps);
  const q = t([N, H * D], "layer.q");
  const k = t([N, Hkv * D], "layer.k");
  const v = t([N, Hkv * D], "layer.v");
  matmul(gpu, n1, w.wq, q, { transB: true, bias: w.bq });
  matmul(gpu, n1, w.wk, k, { transB: true, bias: w.bk });
  matmul(gpu, n1, w.wv, v, { transB: true, bias: w.bv });
  ropeForward(gpu, q, rope);
  ropeForward(gpu, k, rope);
  const att = t([N, H * D], "layer.att");
  const lse = attend(q, k, v, att);
  const mid = t([N, C], "layer.mid");
  copyTensor(gpu, x, mid);
  matmul(gpu, att, w.wo, mid, { transB: true, beta: 1 });

  const rstd2 = t([N], "layer.rstd2");
  const n2 = t([N, C], "layer.n2");
  rmsnormForward(gpu, mid, w.mlpNorm, n2, rstd2, cfg.rmsNormEps);
  const g = t([N, I], "layer.gate");
  const u = t([N, I], "layer.up");
  const a = t([N, I], "layer.act");
  matmul(gpu, n2, w.wGate, g, { transB: true });
  matmul(gpu, n2, w.wUp, u, { transB: true });
  swigluForward(gpu, g, u, a);
  const out = t([N, C], "layer.out");
  copyTensor(gpu, mid, out);
  matmul(gpu, a, w.wDown, out, { transB: true, beta: 1 });
  return { out, saved: { x, rstd1, n1, q, k, v, att, lse, mid, rstd2, n2, g, u, a } };
}

/** Releases a layer's saved activations but those named in keep (x, by default: the caller owns it). */
export function releaseLayerSaved(gpu: Gpu, s: LayerSaved, keep: readonly (keyof LayerSaved)[] = ["x"]): void {
  for (const [name, tensor] of Object.entries(s)) if (!keep.includes(name as keyof LayerSaved)) releaseTensor(gpu, tensor);
}

/** Column sums of dy [N, F] added into db [F] (a bias gradient), as ones[1, N] · dy. */
function addBiasGrad(gpu: Gpu, ones: Tensor, dy: Tensor, db: Tensor): void {
  matmul(gpu, ones, dy, reshape(db, [1, db.size]), { beta: 1 });
}

/**
 * Backward of layerForward. dx [N, C] holds d loss / d out on entry and d loss / d x on return
 * (updated in place: the residual stream's gradient flows through). Weight gradients go into gw (+=).
 */
export function layerBackward(gpu: Gpu, cfg: ModelConfig, w: LayerParams, gw: LayerParams, s: LayerSaved, dx: Tensor, inp: LayerInputs): void {
  const { B, T } = inp;
  const N = B * T;
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  const t = (shape: number[], label: string) => createTensor(gpu, shape, "f32", label);
  const rope = { headDim: D, theta: cfg.ropeTheta, positions: inp.positions };
  const acc = { accumulate: true, accumulateDx: true };

  // MLP: out = mid + a·Wdᵀ. dx is d out, and becomes d mid once the norm's part is added.
  const da = t([N, I], "layer.da");
  matmul(gpu, dx, w.wDown, da);
  matmul(gpu, dx, s.a, gw.wDown, { transA: true, beta: 1 });
  const dg = t([N, I], "layer.dg");
  const du = t([N, I], "layer.du");
  swigluBackward(gpu, s.g, s.u, da, dg, du);
  releaseTensor(gpu, da);
  const dn2 = t([N, C], "layer.dn2");
  matmul(gpu, dg, w.wGate, dn2);
  matmul(gpu, du, w.wUp, dn2, { beta: 1 });
  matmul(gpu, dg, s.n2, gw.wGate, { transA: true, beta: 1 });
  matmul(gpu, du, s.n2, gw.wUp, { transA: true, beta: 1 });
  releaseTensor(gpu, dg);
  releaseTensor(gpu, du);
  rmsnormBackward(gpu, s.mid, w.mlpNorm, s.rstd2, dn2, dx, gw.mlpNorm, acc);
  releaseTensor(gpu, dn2);

  // Attention: mid = x + att·Woᵀ.
  const datt = t([N, H * D], "layer.datt");
  matmul(gpu, dx, w.wo, datt);
  matmul(gpu, dx, s.att, gw.wo, { transA: true, beta: 1 });
  const dq = t([N, H * D], "layer.dq");
  const dk = t([N, Hkv * D], "layer.dk");
  const dv = t([N, Hkv * D], "layer.dv");
  const qkv = (x: Tensor, F: number) => reshape(x, [B, T, F]);
  attentionBackward(gpu, qkv(s.q, H * D), qkv(s.k, Hkv * D), qkv(s.v, Hkv * D), qkv(s.att, H * D), s.lse, qkv(datt, H * D), qkv(dq, H * D), qkv(dk, Hkv * D), qkv(dv, Hkv * D), inp.attention);
  releaseTensor(gpu, datt);
  ropeBackward(gpu, dq, rope);
  ropeBackward(gpu, dk, rope);
  const ones = t([1, N], "layer.ones");
  fill(gpu, ones, 1);
  addBiasGrad(gpu, ones, dq, gw.bq);
  addBiasGrad(gpu, ones, dk, gw.bk);
  addBiasGrad(gpu, ones, dv, gw.bv);
  releaseTensor(gpu, ones);
  const dn1 = t([N, C], "layer.dn1");
  matmul(gpu, dq, w.wq, dn1);
  matmul(gpu, dk, w.wk, dn1, { beta: 1 });
  matmul(gpu, dv, w.wv, dn1, { beta: 1 });
  matmul(gpu, dq, s.n1, gw.wq, { transA: true, beta: 1 });
  matmul(gpu, dk, s.n1, gw.wk, { transA: true, beta: 1 });
  matmul(gpu, dv, s.n1, gw.wv, { transA: true, beta: 1 });
  for (const g of [dq, dk, dv]) releaseTensor(gpu, g);
  rmsnormBackward(gpu, s.x, w.attnNorm, s.rstd1, dn1, dx, gw.attnNorm, acc);
  releaseTensor(gpu, dn1);
}
