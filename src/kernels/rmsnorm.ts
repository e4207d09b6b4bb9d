// Host half of shaders/rmsnorm.wgsl: RMSNorm forward (saving rstd) and backward (dx, and dw by
// fixed-order partial sums over row blocks). Letters: N rows, C channels.
import type { Gpu } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, createTensor, releaseTensor, shapeString } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/rmsnorm.wgsl" with { type: "text" };

const RMSNORM = shader("shaders/rmsnorm.wgsl", source);
/** Rows per block of the dw partial sums (stage 1); stage 2 adds ceil(N / ROW_BLOCK) partials per column. */
const ROW_BLOCK = 64;

export interface RmsnormOptions {
  /** Kernel shape (default by adapter): "cpu" gives each invocation a whole row (lavapipe pays per
   *  invocation and per barrier); "gpu" gives each row a workgroup of 64. Tests try both. */
  variant?: "cpu" | "gpu";
}

export interface RmsnormBackwardOptions extends RmsnormOptions {
  /** dw += the gradient (gradient accumulation) instead of dw = it. */
  accumulate?: boolean;
  /** dx += the gradient (the residual stream's gradient is already in dx) instead of dx = it. */
  accumulateDx?: boolean;
}

/** Invocations per workgroup (WG) and lanes per row (LPR): see shaders/rmsnorm.wgsl. */
function shape(gpu: Gpu, opts: RmsnormOptions): { WG: number; LPR: number } {
  const cpu = (opts.variant ?? (gpu.isSoftware ? "cpu" : "gpu")) === "cpu";
  return cpu ? { WG: 8, LPR: 1 } : { WG: 64, LPR: 64 };
}

/** The vec4 view of a tensor (the pool's buffers are at least 256 bytes, so 16 always fits). */
function vec4View(t: Tensor, v4: boolean) {
  return { tensor: t, offset: 0, size: v4 ? Math.ceil(t.byteSize / 16) * 16 : 16 };
}

/** Rows and channels of x [..., C]; throws unless every other tensor has the shape it needs. */
function rowsOf(op: string, x: Tensor, w: Tensor, rest: [string, Tensor, "x" | "rows" | "C"][]): [number, number] {
  const C = x.shape[x.shape.length - 1] ?? 0;
  const N = C === 0 ? 0 : x.size / C;
  const desc = [`x ${shapeString(x.shape)}`, `w ${shapeString(w.shape)}`, ...rest.map(([n, t]) => `${n} ${shapeString(t.shape)}`)].join(", ");
  if (x.shape.length < 1 || C === 0) throw runError(`${op}: x needs a non-empty last dimension (${desc})`);
  const bad = (t: Tensor, kind: "x" | "rows" | "C") =>
    kind === "x" ? t.shape.length !== x.shape.length || t.shape.some((d, i) => d !== x.shape[i]) : t.size !== (kind === "rows" ? N : C);
  if (w.size !== C || rest.some(([, t, kind]) => bad(t, kind))) {
    throw runError(`${op}: shapes do not match (${desc}): need w [${C}], rstd [${N}], the others like x`);
  }
  if ([x, w, ...rest.map(([, t]) => t)].some((t) => t.dtype !== "f32")) throw runError(`${op}: f32 only (${desc})`);
  return [N, C];
}

/** y = x / sqrt(mean(x²) + eps) · w over the last dimension. x, y: [..., C]; w: [C]; rstd: [N] (saved for backward). */
export function rmsnormForward(gpu: Gpu, x: Tensor, w: Tensor, y: Tensor, rstd: Tensor, eps: number, opts: RmsnormOptions = {}): void {
  const [N, C] = rowsOf("rmsnormForward", x, w, [["y", y, "x"], ["rstd", rstd, "rows"]]);
  const v4 = C % 4 === 0;
  const { WG, LPR } = shape(gpu, opts);
  dispatch(gpu, {
    op: "rmsnormForward",
    shader: RMSNORM,
    entry: "rmsnorm_forward",
    constants: { WG, LPR, V4: v4 },
    params: packParams([N, C, 0, 0, 0, 0], [eps]),
    bindings: [x, vec4View(x, v4), w, undefined, undefined, rstd, y],
    workgroups: Math.ceil(N / (WG / LPR)),
  });
}

/**
 * dx = ∂L/∂x and dw = ∂L/∂w of y = rmsnorm(x) · w given dy, from the forward's rstd [N].
 * x, dy, dx: [..., C]; w, dw: [C]. Deterministic: row sums and the dw column sums run in a fixed order.
 */
export function rmsnormBackward(gpu: Gpu, x: Tensor, w: Tensor, rstd: Tensor, dy: Tensor, dx: Tensor, dw: Tensor, opts: RmsnormBackwardOptions = {}): void {
  const [N, C] = rowsOf("rmsnormBackward", x, w, [["rstd", rstd, "rows"], ["dy", dy, "x"], ["dx", dx, "x"], ["dw", dw, "C"]]);
  const { WG: wg, LPR } = shape(gpu, opts);
  const v4 = C % 4 === 0;
  const p = (nb: number, nCb: number, cb: number) => packParams([N, C, nb, ROW_BLOCK, nCb, cb], [0]);
  dispatch(gpu, {
    op: "rmsnormBackward",
    shader: RMSNORM,
    entry: "rmsnorm_backward",
    constants: { WG: wg, LPR, V4: v4, ACC: opts.accumulateDx ?? false },
    params: p(0, 0, 0),
    bindings: [x, vec4View(x, v4), w, dy, vec4View(dy, v4), rstd, dx],
    workgroups: Math.ceil(N / (wg / LPR)),
  });
  const nb = Math.ceil(N / ROW_BLOCK);
  const cb = v4 ? 16 * wg : 4 * wg;
  const nCb = Math.ceil(C / cb);
  const partial = createTensor(gpu, [Math.max(nb, 1), C], "f32", "rmsnorm.dwPartial"); // [nb, C]
  dispatch(gpu, {
    op: "rmsnormBackward",
    shader: RMSNORM,
    entry: "rmsnorm_dw_partial",
    constants: { WG: wg, V4: v4 },
    params: p(nb, nCb, cb),
    bindings: [x, vec4View(x, v4), undefined, dy, vec4View(dy, v4), rstd, undefined, partial],
    workgroups: nb * nCb,
  });
  dispatch(gpu, {
    op: "rmsnormBackward",
    shader: RMSNORM,
    entry: "rmsnorm_dw_finish",
    constants: { WG: wg, ACC: opts.accumulate ?? false },
    params: p(nb, nCb, cb),
    bindings: [undefined, undefined, undefined, undefined, undefined, undefined, undefined, partial, dw],
    workgroups: Math.ceil(C / wg),
  });
  releaseTensor(gpu, partial);
}
