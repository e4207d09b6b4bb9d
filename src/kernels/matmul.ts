// Host half of shaders/matmul.wgsl: shape checks, variant choice, dispatch. Nothing else.
// Letters: B batch, M rows of C, N columns of C, K the contracted dimension.
import type { Gpu } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, createTensor, shapeString } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/matmul.wgsl" with { type: "text" };
import subgroupSource from "../../shaders/matmul_subgroup.wgsl" with { type: "text" };
import commonSource from "../../shaders/matmul_common.wgsl" with { type: "text" };

const INCLUDES = { "shaders/matmul_common.wgsl": commonSource };
const MATMUL = shader("shaders/matmul.wgsl", source, INCLUDES);
const MATMUL_SUBGROUP = shader("shaders/matmul_subgroup.wgsl", subgroupSource, INCLUDES);
const WGX = 8;
const WGY = 8;

export interface MatmulOptions {
  /** A is stored [K, M] and used transposed (Aᵀ·B). */
  transA?: boolean;
  /** B is stored [N, K] and used transposed (A·Bᵀ). */
  transB?: boolean;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Accumulate: C = alpha·op(A)·op(B) + beta·C (default: overwrite C). */
  beta?: number;
  /** Fused bias [N], added to every row of C (Qwen2's q/k/v projections). */
  bias?: Tensor;
  /** Kernel variant; default by adapter and rows (defaultMatmulVariant). */
  variant?: MatmulVariant;
  /** Subgroups per workgroup of the subgroup variant (default subgroupWgy(N); for tests and benchmarks). */
  subgroups?: number;
  /** Read A with scalar loads even where vec4 reads are allowed (for tests and benchmarks: the
   *  subgroup variant's Aᵀ path before its loads were shared across the subgroup). */
  scalarA?: boolean;
}

export type MatmulVariant = "register" | "subgroup" | "tiled" | "matvec";

/** Rows up to which CPU adapters use the matvec variant (one invocation per column, all rows). */
export const MATVEC_MAX_ROWS = 8;

/** Whether the adapter has subgroups of exactly 8 lanes (what matmul_subgroup.wgsl assumes). */
export function hasSubgroupsOf8(gpu: Gpu): boolean {
  const info = gpu.adapter.info as unknown as { subgroupMinSize?: number; subgroupMaxSize?: number };
  return gpu.features.includes("subgroups") && info.subgroupMinSize === 8 && info.subgroupMaxSize === 8;
}

/** CPU adapters (lavapipe): matvec for at most MATVEC_MAX_ROWS rows, else register tiles, sharing
 *  B through 8-wide subgroups when there are such; GPUs: workgroup-memory tiles. */
export function defaultMatmulVariant(gpu: Gpu, M = Infinity): MatmulVariant {
  if (!gpu.isSoftware) return "tiled";
  if (M <= MATVEC_MAX_ROWS) return "matvec";
  return hasSubgroupsOf8(gpu) ? "subgroup" : "register";
}

/** A 4-element tensor bound where an entry point's layout has a slot the call does not use. */
const dummies = new WeakMap<Gpu, Tensor>();
function dummy(gpu: Gpu): Tensor {
  let t = dummies.get(gpu);
  if (!t || t.released) dummies.set(gpu, (t = createTensor(gpu, [4], "f32", "matmul.unused")));
  return t;
}

/** Splits a [..., R, C] shape into (batch, R, C). A 2-D tensor has batch 1. */
function matrixDims(t: Tensor): [number, number, number] {
  const s = t.shape;
  if (s.length < 2) return [-1, -1, -1];
  let batch = 1;
  for (let i = 0; i < s.length - 2; i++) batch *= s[i]!;
  return [batch, s[s.length - 2]!, s[s.length - 1]!];
}

/**
 * C = alpha · op(A) · op(B) (+ beta · C), batched over leading dimensions.
 * A: [B?, M, K] (or [B?, K, M] with transA), B: [B?, K, N] (or [B?, N, K] with transB), C: [B?, M, N].
 * A or B may be 2-D while the others are batched (the same matrix for every batch entry).
 */
export function matmul(gpu: Gpu, a: Tensor, b: Tensor, c: Tensor, opts: MatmulOptions = {}): void {
  const ta = opts.transA ?? false;
  const tb = opts.transB ?? false;
  const [ba, ar, ac] = matrixDims(a);
  const [bb, br, bc] = matrixDims(b);
  const [bcount, M, N] = matrixDims(c);
  const desc = `A ${shapeString(a.shape)}${ta ? "ᵀ" : ""}, B ${shapeString(b.shape)}${tb ? "ᵀ" : ""}, C ${shapeString(c.shape)}`;
  if (ba < 0 || bb < 0 || bcount < 0) throw runError(`matmul: operands must be at least 2-D (${desc})`);
  const [am, ak] = ta ? [ac, ar] : [ar, ac];
  const [bk, bn] = tb ? [bc, br] : [br, bc];
  if (am !== M || bn !== N || ak !== bk) {
    throw runError(`matmul: shapes do not match (${desc}): need op(A) [M, K], op(B) [K, N], C [M, N]`);
  }
  if ((ba !== 1 && ba !== bcount) || (bb !== 1 && bb !== bcount)) {
    throw runError(`matmul: batch sizes do not match (${desc})`);
  }
  if (a.dtype !== "f32" || b.dtype !== "f32" || c.dtype !== "f32") throw runError(`matmul: f32 only (${desc})`);
  const K = ak;
  const sa = ba === 1 ? 0 : M * K;
  const sb = bb === 1 ? 0 : K * N;
  const sc = M * N;
  // vec4 reads need the contiguous dimension and the batch stride to be multiples of 4.
  const va = !opts.scalarA && (ta ? M % 4 === 0 : K % 4 === 0) && sa % 4 === 0 && (ta ? M >= 4 : K >= 4);
  const vb = (tb ? K % 4 === 0 : N % 4 === 0) && sb % 4 === 0 && (tb ? K >= 4 : N >= 4);
  if (opts.bias && (opts.bias.size !== N || opts.bias.dtype !== "f32")) {
    throw runError(`matmul: bias ${shapeString(opts.bias.shape)} does not match N = ${N} (${desc})`);
  }
  const accumulate = opts.beta !== undefined && opts.beta !== 0;
  const variant = opts.variant ?? defaultMatmulVariant(gpu, M);
  if (variant === "matvec" && M > MATVEC_MAX_ROWS) throw runError(`matmul: the matvec variant takes at most ${MATVEC_MAX_ROWS} rows, got M = ${M} (${desc})`);
  if (variant === "subgroup" && !hasSubgroupsOf8(gpu)) throw runError("matmul: the subgroup variant needs subgroups of exactly 8 lanes");
  const common = { TA: ta, TB: tb, ACC: accumulate, BIAS: opts.bias !== undefined };
  const params = packParams([M, N, K, sa, sb, sc], [opts.alpha ?? 1, opts.beta ?? 0]);
  const bias = opts.bias ?? dummy(gpu);
  if (variant === "tiled") {
    dispatch(gpu, {
      op: "matmul",
      shader: MATMUL,
      entry: "matmul_tiled",
      constants: common,
      params,
      bindings: [a, undefined, b, undefined, c, bias],
      workgroups: [Math.ceil(N / 64), Math.ceil(M / 64), bcount],
    });
    return;
  }
  if (variant === "matvec") {
    dispatch(gpu, {
      op: "matmul",
      shader: MATMUL,
      entry: "matvec",
      constants: { ...common, VA: va, VB: vb, MV: M },
      params,
      bindings: [a, vec4View(a), b, vec4View(b), c, bias],
      workgroups: [Math.ceil(N / 64), 1, bcount],
    });
    return;
  }
  if (variant === "subgroup") {
    const wgy = opts.subgroups ?? subgroupWgy(N);
    if (!(Number.isInteger(wgy) && wgy >= 1 && wgy <= 32)) throw runError(`matmul: subgroups ${wgy} per workgroup; give an integer in 1..32`);
    dispatch(gpu, {
      op: "matmul",
      shader: MATMUL_SUBGROUP,
      entry: "matmul",
      constants: { ...common, VA: va, VB: vb, WGY: wgy },
      params,
      bindings: [a, vec4View(a), b, vec4View(b), c, bias],
      workgroups: [Math.ceil(N / (16 * wgy)), Math.ceil(M / 16), bcount],
    });
    return;
  }
  dispatch(gpu, {
    op: "matmul",
    shader: MATMUL,
    entry: "matmul",
    constants: { ...common, VA: va, VB: vb, WGX, WGY },
    params,
    bindings: [a, vec4View(a), b, vec4View(b), c, bias],
    workgroups: [Math.ceil(N / (8 * WGX)), Math.ceil(M / (4 * WGY)), bcount],
  });
}

/**
 * Subgroups per workgroup of the subgroup variant (each covers 16 columns): up to WGY, fewer when N
 * is narrow, so that no subgroup of a workgroup only repeats clamped edge columns. The k/v projections'
 * N = 64 ran about 2x faster with 4 than with 8 (README, matmul).
 */
export function subgroupWgy(N: number): number {
  const tiles = Math.ceil(N / 16);
  return Math.ceil(tiles / Math.ceil(tiles / WGY));
}

/** The whole buffer (a multiple of 16 bytes, from the pool's rounding) for the vec4 view. */
function vec4View(t: Tensor) {
  return { tensor: t, offset: 0, size: Math.ceil(t.byteSize / 16) * 16 };
}

/**
 * Gradients of C = A·B (no transposes) given dC: dA = dC·Bᵀ, dB = Aᵀ·dC.
 * With accumulate, they are added to dA and dB (gradient accumulation).
 */
export function matmulBackward(gpu: Gpu, a: Tensor, b: Tensor, dc: Tensor, da: Tensor | undefined, db: Tensor | undefined, accumulate = false): void {
  const beta = accumulate ? 1 : 0;
  if (da) matmul(gpu, dc, b, da, { transB: true, beta });
  if (db) matmul(gpu, a, dc, db, { transA: true, beta });
}
