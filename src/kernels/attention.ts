// Host half of causal grouped-query attention (shaders/attention_*.wgsl): shape checks, variant and
// tile choice, dispatch. Forward writes out and lse; backward recomputes probabilities from lse.
// Working memory is linear in T: no [T, T] buffer exists (the backward adds one [B, H, T, 2]).
// Letters: B batch, T tokens, H query heads, Hkv kv heads, D head dim.
//
// Masking, one rule for causal attention and shared-prefix packing: query t of row b attends to key
// j iff j <= t < seqLen[b] and (j < prefixLen[b] or j >= segStart[b, t]). Without segStart the
// second condition is off (plain causal); without prefixLen it reads as 0; without seqLen, T.
// Packing one prompt of P tokens with G responses as [prompt, r1, ..., rG]: prompt tokens have
// segStart 0, the tokens of r_i the index where r_i starts, prefixLen = P. Every response then
// sees the whole prompt and itself only (positions for RoPE continue from P: the caller's job).
// Tokens at or past seqLen get out 0, lse 0 and zero gradients.
import { type Gpu, maxBindingBytes } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, createTensor, releaseTensor, shapeString } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import subgroupSource from "../../shaders/attention_subgroup.wgsl" with { type: "text" };
import plainSource from "../../shaders/attention_plain.wgsl" with { type: "text" };
import commonSource from "../../shaders/attention_common.wgsl" with { type: "text" };
import forwardSource from "../../shaders/attention_forward.wgsl" with { type: "text" };
import backwardSource from "../../shaders/attention_backward.wgsl" with { type: "text" };

const INCLUDES = {
  "shaders/attention_common.wgsl": commonSource,
  "shaders/attention_forward.wgsl": forwardSource,
  "shaders/attention_backward.wgsl": backwardSource,
};
const SUBGROUP = shader("shaders/attention_subgroup.wgsl", subgroupSource, INCLUDES);
const PLAIN = shader("shaders/attention_plain.wgsl", plainSource, INCLUDES);

export type AttentionVariant = "subgroup" | "plain";

export interface AttentionOptions {
  /** Query heads H. */
  heads: number;
  /** Key/value heads Hkv; H % Hkv == 0 and query head h uses kv head floor(h / (H / Hkv)). */
  kvHeads: number;
  /** Softmax scale (default 1/sqrt(D)). */
  scale?: number;
  /** u32 [B, T]: where each token's segment starts (shared-prefix packing). */
  segStart?: Tensor;
  /** u32 [B]: keys below this are visible to every later query (needs segStart). */
  prefixLen?: Tensor;
  /** u32 [B]: valid tokens per row (padded batches). */
  seqLen?: Tensor;
  /** Kernel variant; default by adapter (defaultAttentionVariant). */
  variant?: AttentionVariant;
}

/** Rows per lane R and 8-row blocks per step NB of one pass (see shaders/attention_common.wgsl). */
export interface AttentionTile {
  R: number;
  NB: number;
}

/** Tiles per pass by head dim and variant, measured on lavapipe (T=2048; neighbouring tiles were
 *  within the ±20% noise of a shared 2-core machine for the backward passes): R·D <= 256
 *  keeps the per-lane accumulators at 256 floats, R·8·NB <= 64 the scores. The plain variant (no
 *  subgroups, untuned) takes the smallest tiles: its shaders then compile in a fraction of the time. */
export function attentionTiles(D: number, variant: AttentionVariant = "subgroup"): { forward: AttentionTile; dq: AttentionTile; dkdv: AttentionTile } {
  if (variant === "plain") return { forward: { R: 1, NB: 1 }, dq: { R: 1, NB: 1 }, dkdv: { R: 1, NB: 1 } };
  if (D <= 64) return { forward: { R: 2, NB: 4 }, dq: { R: 2, NB: 2 }, dkdv: { R: 2, NB: 2 } };
  return { forward: { R: 2, NB: 2 }, dq: { R: 2, NB: 2 }, dkdv: { R: 1, NB: 2 } };
}

/** Subgroups of at least 8 lanes: one 8-invocation workgroup is then one subgroup. */
export function hasSubgroupsOfAtLeast8(gpu: Gpu): boolean {
  const info = gpu.adapter.info as unknown as { subgroupMinSize?: number };
  return gpu.features.includes("subgroups") && (info.subgroupMinSize ?? 0) >= 8;
}

export function defaultAttentionVariant(gpu: Gpu): AttentionVariant {
  return hasSubgroupsOfAtLeast8(gpu) ? "subgroup" : "plain";
}

interface Dims {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
}

const dummies = new WeakMap<Gpu, Tensor>();
/** Bound in the mask slots a call does not use (each entry's layout has them all). */
function dummy(gpu: Gpu): Tensor {
  let t = dummies.get(gpu);
  if (!t || t.released) dummies.set(gpu, (t = createTensor(gpu, [4], "u32", "attention.unused")));
  return t;
}

function expectShape(op: string, name: string, t: Tensor, want: readonly number[], dtype: string, desc: string): void {
  if (t.dtype !== dtype || t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
    throw runError(`${op}: ${name} ${shapeString(t.shape)} ${t.dtype} should be ${shapeString(want)} ${dtype} (${desc})`);
  }
}

/** Checks q, k, v and the masks; returns the sizes. Throws before anything is dispatched. */
function checkInputs(op: string, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Dims {
  const desc = `q ${shapeString(q.shape)}, k ${shapeString(k.shape)}, v ${shapeString(v.shape)}, H ${opts.heads}, Hkv ${opts.kvHeads}`;
  const H = opts.heads;
  const Hkv = opts.kvHeads;
  if (!(Number.isInteger(H) && Number.isInteger(Hkv) && H > 0 && Hkv > 0 && H % Hkv === 0)) {
    throw runError(`${op}: heads ${H} must be a positive multiple of kvHeads ${Hkv} (${desc})`);
  }
  if (q.shape.length !== 3) throw runError(`${op}: q must be [B, T, H*D] (${desc})`);
  const [B, T, HD] = q.shape as [number, number, number];
  const D = HD / H;
  if (!Number.isInteger(D) || D % 4 !== 0 || D < 4 || D > 128) {
    throw runError(`${op}: head dim D = ${HD}/${H} must be a multiple of 4 in [4, 128] (${desc})`);
  }
  if (T < 1 || B < 1) throw runError(`${op}: empty batch or sequence (${desc})`);
  expectShape(op, "q", q, [B, T, H * D], "f32", desc);
  expectShape(op, "k", k, [B, T, Hkv * D], "f32", desc);
  expectShape(op, "v", v, [B, T, Hkv * D], "f32", desc);
  if (opts.segStart) expectShape(op, "segStart", opts.segStart, [B, T], "u32", desc);
  if (opts.prefixLen) {
    if (!opts.segStart) throw runError(`${op}: prefixLen needs segStart (${desc})`);
    expectShape(op, "prefixLen", opts.prefixLen, [B], "u32", desc);
  }
  if (opts.seqLen) expectShape(op, "seqLen", opts.seqLen, [B], "u32", desc);
  return { B, T, H, Hkv, D };
}

function checkTile(op: string, tile: AttentionTile, D: number): void {
  const { R, NB } = tile;
  if (!(R >= 1 && R <= 4 && NB >= 1 && NB <= 4 && R * D <= 256 && R * 8 * NB <= 64)) {
    throw runError(`${op}: tile R=${R} NB=${NB} does not fit D=${D} (need R <= 4, NB <= 4, R·D <= 256, R·8·NB <= 64)`);
  }
}

/** Storage buffers of the widest entry (dk/dv: q, k, v, dout, stats, dk, dv and three masks). */
const STORAGE_BUFFERS = 10;

interface Pass {
  op: string;
  entry: string;
  tile: AttentionTile;
  /** Heads the grid runs over: H (forward, dq) or Hkv (dk/dv). */
  heads: number;
  bindings: (Tensor | undefined)[];
}

/** Params.masks: which of segStart (1), prefixLen (2), seqLen (4) are bound. */
function maskFlags(opts: AttentionOptions): number {
  return (opts.segStart ? 1 : 0) | (opts.prefixLen ? 2 : 0) | (opts.seqLen ? 4 : 0);
}

/** The variant to run, after checking that the adapter can run it (before anything is dispatched). */
function pickVariant(gpu: Gpu, op: string, opts: AttentionOptions, bindingBytes: number): AttentionVariant {
  const variant = opts.variant ?? defaultAttentionVariant(gpu);
  if (variant === "subgroup" && !hasSubgroupsOfAtLeast8(gpu)) throw runError(`${op}: the subgroup variant needs subgroups of at least 8 lanes`);
  const buffers = gpu.limits.maxStorageBuffersPerShaderStage ?? 8;
  if (buffers < STORAGE_BUFFERS) {
    throw runError(`${op}: needs ${STORAGE_BUFFERS} storage buffers per shader stage; the adapter allows ${buffers}`);
  }
  const maxBinding = maxBindingBytes(gpu);
  if (bindingBytes > maxBinding) {
    throw runError(`${op}: a ${bindingBytes}-byte tensor exceeds the adapter's maxStorageBufferBindingSize ${maxBinding}; run fewer rows per call`);
  }
  return variant;
}

function run(gpu: Gpu, dims: Dims, opts: AttentionOptions, variant: AttentionVariant, pass: Pass): void {
  const { B, T, H, Hkv, D } = dims;
  const tiles = Math.ceil(T / (8 * pass.tile.R));
  const count = B * pass.heads * tiles;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const masks = [opts.prefixLen ?? dummy(gpu), opts.segStart ?? dummy(gpu), opts.seqLen ?? dummy(gpu)];
  dispatch(gpu, {
    op: pass.op,
    shader: variant === "subgroup" ? SUBGROUP : PLAIN,
    entry: pass.entry,
    constants: { D, R: pass.tile.R, NB: pass.tile.NB },
    params: packParams([B, T, H, Hkv, tiles, count, maskFlags(opts)], [scale]),
    bindings: [...pass.bindings, ...masks],
    workgroups: count,
  });
}

/**
 * out = softmax(scale·q·kᵀ + mask)·v, and lse = log-sum-exp of the scaled, masked scores.
 * q, out [B, T, H*D]; k, v [B, T, Hkv*D]; lse [B, H, T] (saved for attentionBackward).
 */
export function attentionForward(gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, opts: AttentionOptions, tile?: AttentionTile): void {
  const op = "attentionForward";
  const dims = checkInputs(op, q, k, v, opts);
  const { B, T, H, D } = dims;
  const desc = `q ${shapeString(q.shape)}, out ${shapeString(out.shape)}, lse ${shapeString(lse.shape)}`;
  expectShape(op, "out", out, [B, T, H * D], "f32", desc);
  expectShape(op, "lse", lse, [B, H, T], "f32", desc);
  const variant = pickVariant(gpu, op, opts, q.byteSize);
  const chosen = tile ?? attentionTiles(D, variant).forward;
  checkTile(op, chosen, D);
  run(gpu, dims, opts, variant, {
    op,
    entry: "attention_forward",
    tile: chosen,
    heads: H,
    bindings: [q, k, v, out, lse, undefined, undefined, undefined, undefined, undefined],
  });
}

/**
 * Gradients of attentionForward given dout: dq [B, T, H*D], dk, dv [B, T, Hkv*D] (overwritten;
 * dk and dv sum over the query heads of their group). out and lse are the forward's outputs.
 */
export function attentionBackward(
  gpu: Gpu, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor,
  dq: Tensor, dk: Tensor, dv: Tensor, opts: AttentionOptions,
  tiles?: { dq?: AttentionTile; dkdv?: AttentionTile },
): void {
  const op = "attentionBackward";
  const dims = checkInputs(op, q, k, v, opts);
  const { B, T, H, Hkv, D } = dims;
  const desc = `q ${shapeString(q.shape)}, k ${shapeString(k.shape)}, out ${shapeString(out.shape)}, lse ${shapeString(lse.shape)}, dout ${shapeString(dout.shape)}`;
  for (const [name, t] of [["out", out], ["dout", dout], ["dq", dq]] as const) expectShape(op, name, t, [B, T, H * D], "f32", desc);
  for (const [name, t] of [["dk", dk], ["dv", dv]] as const) expectShape(op, name, t, [B, T, Hkv * D], "f32", desc);
  expectShape(op, "lse", lse, [B, H, T], "f32", desc);
  const variant = pickVariant(gpu, op, opts, Math.max(q.byteSize, B * H * T * 8));
  const chosen = attentionTiles(D, variant);
  const dqTile = tiles?.dq ?? chosen.dq;
  const dkdvTile = tiles?.dkdv ?? chosen.dkdv;
  checkTile(op, dqTile, D);
  checkTile(op, dkdvTile, D);

  const stats = createTensor(gpu, [B, H, T, 2], "f32", "attention.stats"); // stats: [B, H, T, (lse, delta)]
  dispatch(gpu, {
    op,
    shader: variant === "subgroup" ? SUBGROUP : PLAIN,
    entry: "attention_backward_prep",
    constants: { D },
    params: packParams([B, T, H, Hkv, 0, 0, 0], [0]),
    bindings: [undefined, undefined, undefined, out, lse, dout, stats],
    workgroups: Math.ceil((B * H * T) / 64),
  });
  run(gpu, dims, opts, variant, {
    op,
    entry: "attention_backward_dkdv",
    tile: dkdvTile,
    heads: Hkv,
    bindings: [q, k, v, undefined, undefined, dout, stats, undefined, dk, dv],
  });
  run(gpu, dims, opts, variant, {
    op,
    entry: "attention_backward_dq",
    tile: dqTile,
    heads: H,
    bindings: [q, k, v, undefined, undefined, dout, stats, dq, undefined, undefined],
  });
  releaseTensor(gpu, stats);
}
