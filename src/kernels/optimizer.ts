// Host half of shaders/optimizer.wgsl: AdamW and SGD steps over a list of parameter tensors, with
// global gradient-norm clipping computed on the GPU (per-gradient chunk sums of squares into one
// buffer in list order, then a fixed-order sum; the update reads the clip coefficient from a
// buffer, so nothing waits for the norm). Tensors larger than one storage binding are updated
// range by range. Gradients are read, never scaled in place; zeroing them is the caller's job.
// Letters: N elements of one parameter tensor; P partial sums (one per reduce chunk of every gradient).
import type { Gpu } from "../gpu/context.ts";
import { type Binding, dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { profilePart } from "../gpu/profile.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, createTensor, releaseTensor, shapeString, zeroTensor } from "../gpu/tensor.ts";
import { runError, usageError } from "../util/errors.ts";
import { bindingRanges, chunkCount, chunkSums, sumInto } from "./reduce.ts";
import source from "../../shaders/optimizer.wgsl" with { type: "text" };

const OPTIMIZER = shader("shaders/optimizer.wgsl", source);

/** One parameter tensor and its gradient (same shape). decay: apply weight decay (default true). */
export interface OptimParam {
  name: string;
  param: Tensor;
  grad: Tensor;
  decay?: boolean;
}

export interface ClipOptions {
  /** Clip the global gradient norm to this (torch.nn.utils.clip_grad_norm_); <= 0 or Infinity: no clipping. */
  maxGradNorm?: number;
  /** Leave parameters and state untouched when the norm is inf/NaN, as verl does (default true). */
  skipNonFinite?: boolean;
  /** Largest range bound at once, in elements (default: the adapter's binding size); for tests. */
  maxBindingElements?: number;
}

export interface AdamWOptions extends ClipOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

export interface SgdOptions extends ClipOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  /** L2 penalty added to the gradient (torch.optim.SGD's weight_decay; coupled, unlike AdamW's). */
  weightDecay?: number;
}

/** design.md §5 (QwenLong-L1 demo): lr 2e-6 constant, AdamW (0.9, 0.999), wd 0.01, grad clip 1.0. */
export const ADAMW_DEFAULTS = { lr: 2e-6, betas: [0.9, 0.999] as readonly [number, number], eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1.0, skipNonFinite: true };
/** torch.optim.SGD's defaults, except the clip (the same as AdamW's here). */
export const SGD_DEFAULTS = { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, maxGradNorm: 1.0, skipNonFinite: true };

interface Common {
  /** [2]: the global gradient norm of the last step (read it with readScalar) and its clip coefficient. */
  clip: Tensor;
  /** [P]: per-chunk sums of squares of the gradients. */
  partials: Tensor;
}

export interface AdamWState extends Common {
  kind: "adamw";
  opts: Required<Omit<AdamWOptions, "maxBindingElements">> & { maxBindingElements?: number };
  /** m (exp_avg) and v (exp_avg_sq) have the parameter's shape; checkpoints save and load them. */
  slots: (OptimParam & { decay: boolean; m: Tensor; v: Tensor })[];
}

export interface SgdState extends Common {
  kind: "sgd";
  opts: Required<Omit<SgdOptions, "maxBindingElements">> & { maxBindingElements?: number };
  /** buf (momentum_buffer, the parameter's shape) exists when momentum > 0. */
  slots: (OptimParam & { decay: boolean; buf?: Tensor })[];
}

/** Records clip = [norm, coef] for the gradients: norm = sqrt(Σ g²), coef = min(1, maxNorm / (norm + 1e-6)). */
export function gradNorm(gpu: Gpu, grads: readonly Tensor[], out: Tensor, opts: ClipOptions = {}): void {
  if (out.size !== 2) throw runError(`gradNorm: out must be [2] (norm, clip coefficient), got ${shapeString(out.shape)}`);
  const partials = createPartials(gpu, "gradNorm", grads);
  recordClip(gpu, "gradNorm", grads, partials, out, opts);
  releaseTensor(gpu, partials);
}

export function createAdamW(gpu: Gpu, params: readonly OptimParam[], options: AdamWOptions = {}): AdamWState {
  const opts = { ...ADAMW_DEFAULTS, ...options };
  const [b1, b2] = opts.betas;
  if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw usageError(`adamw: betas (${b1}, ${b2}) must lie in [0, 1)`);
  if (!(opts.eps >= 0) || !(opts.weightDecay >= 0)) throw usageError(`adamw: eps ${opts.eps} and weightDecay ${opts.weightDecay} must be >= 0`);
  checkLr("adamw", opts.lr);
  const list = checkParams("adamw", params);
  const slots = list.map((p) => {
    const m = zeros(gpu, p.param.shape, `${p.name}.exp_avg`); // [N...] like the parameter
    const v = zeros(gpu, p.param.shape, `${p.name}.exp_avg_sq`); // [N...]
    return { ...p, decay: p.decay ?? true, m, v };
  });
  return { kind: "adamw", opts, slots, ...common(gpu, "adamw", list) };
}

/** Records one AdamW step (t = step, counting from 1): clip norm, then every parameter's update. */
export function adamwStep(gpu: Gpu, state: AdamWState, args: { step: number; lr?: number }): void {
  profilePart(gpu, "optimizer");
  const { step } = args;
  const lr = args.lr ?? state.opts.lr;
  checkStep("adamw", step, lr);
  const o = state.opts;
  const [b1, b2] = o.betas;
  recordClip(gpu, "adamw", state.slots.map((s) => s.grad), state.partials, state.clip, o);
  // Bias corrections in float64 on the host, passed to the kernel as f32 (torch computes them in Python floats).
  const stepSize = lr / (1 - b1 ** step);
  const bc2Sqrt = Math.sqrt(1 - b2 ** step);
  for (const s of state.slots) {
    const fields = { skipNonFinite: o.skipNonFinite ? 1 : 0, decayMul: s.decay ? 1 - lr * o.weightDecay : 1, beta1: b1, beta2: b2, oneMinusBeta1: 1 - b1, oneMinusBeta2: 1 - b2, stepSize, bc2Sqrt, eps: o.eps };
    recordUpdate(gpu, "adamw", state.clip, { grad: s.grad, w: s.param, m: s.m, v: s.v }, fields, o.maxBindingElements);
  }
}

export function createSgd(gpu: Gpu, params: readonly OptimParam[], options: SgdOptions = {}): SgdState {
  const opts = { ...SGD_DEFAULTS, ...options };
  checkLr("sgd", opts.lr);
  if (!(opts.momentum >= 0) || !(opts.weightDecay >= 0)) throw usageError(`sgd: momentum ${opts.momentum} and weightDecay ${opts.weightDecay} must be >= 0`);
  if (opts.nesterov && (opts.momentum <= 0 || opts.dampening !== 0)) throw usageError("sgd: nesterov needs momentum > 0 and dampening 0 (as torch.optim.SGD)");
  const list = checkParams("sgd", params);
  const slots = list.map((p) => {
    const buf = opts.momentum > 0 ? createTensor(gpu, p.param.shape, "f32", `${p.name}.momentum_buffer`) : undefined; // [N...]; set at step 1
    return { ...p, decay: p.decay ?? true, buf };
  });
  return { kind: "sgd", opts, slots, ...common(gpu, "sgd", list) };
}

/** Records one SGD step (step counts from 1; at step 1 the momentum buffer starts as the gradient). */
export function sgdStep(gpu: Gpu, state: SgdState, args: { step: number; lr?: number }): void {
  const { step } = args;
  const lr = args.lr ?? state.opts.lr;
  checkStep("sgd", step, lr);
  const o = state.opts;
  recordClip(gpu, "sgd", state.slots.map((s) => s.grad), state.partials, state.clip, o);
  for (const s of state.slots) {
    const fields = { skipNonFinite: o.skipNonFinite ? 1 : 0, first: step === 1 ? 1 : 0, nesterov: o.nesterov ? 1 : 0, lr, wd: s.decay ? o.weightDecay : 0, momentum: o.momentum, dampening: o.dampening };
    recordUpdate(gpu, "sgd", state.clip, { grad: s.grad, w: s.param, m: s.buf }, fields, o.maxBindingElements);
  }
}

/** The state tensors a checkpoint saves, named like torch's state (exp_avg, exp_avg_sq, momentum_buffer). */
export function optimizerTensors(state: AdamWState | SgdState): { name: string; tensor: Tensor }[] {
  if (state.kind === "adamw") return state.slots.flatMap((s) => [{ name: s.m.label!, tensor: s.m }, { name: s.v.label!, tensor: s.v }]);
  return state.slots.flatMap((s) => (s.buf ? [{ name: s.buf.label!, tensor: s.buf }] : []));
}

/** Returns the optimizer's own tensors to the pool (not the parameters or gradients). */
export function releaseOptimizer(gpu: Gpu, state: AdamWState | SgdState): void {
  for (const { tensor } of optimizerTensors(state)) releaseTensor(gpu, tensor);
  releaseTensor(gpu, state.clip);
  releaseTensor(gpu, state.partials);
}

function clipOn(o: ClipOptions): boolean {
  const max = o.maxGradNorm ?? 0;
  return max > 0 && Number.isFinite(max);
}

/** The fields of optimizer.wgsl's Params, in its order (u32s, then f32s); unnamed fields are 0. */
const U32_FIELDS = ["n", "base", "per", "skipNonFinite", "clipOn", "first", "nesterov"] as const;
const F32_FIELDS = ["maxNorm", "decayMul", "beta1", "beta2", "oneMinusBeta1", "oneMinusBeta2", "stepSize", "bc2Sqrt", "eps", "lr", "wd", "momentum", "dampening"] as const;
type Fields = Partial<Record<(typeof U32_FIELDS)[number] | (typeof F32_FIELDS)[number], number>>;

function pack(f: Fields): ArrayBuffer {
  return packParams(U32_FIELDS.map((k) => f[k] ?? 0), F32_FIELDS.map((k) => f[k] ?? 0));
}

/** Per-chunk sums of squares of every gradient, in list order, then their sum, then norm and coef. */
function recordClip(gpu: Gpu, op: string, grads: readonly Tensor[], partials: Tensor, clip: Tensor, o: ClipOptions): void {
  let offset = 0;
  for (const g of grads) offset += chunkSums(gpu, op, g, partials, offset, { square: true, maxBindingElements: o.maxBindingElements });
  if (offset !== partials.size) throw runError(`${op}: gradients hold ${offset} chunks but the partial sums are ${shapeString(partials.shape)}`);
  sumInto(gpu, op, partials, clip, 0, { maxBindingElements: o.maxBindingElements });
  const params = pack({ clipOn: clipOn(o) ? 1 : 0, maxNorm: clipOn(o) ? o.maxGradNorm : 0 });
  dispatch(gpu, { op, shader: OPTIMIZER, entry: "grad_norm_finish", params, bindings: [clip], workgroups: 1 });
}

interface UpdateTensors {
  grad: Tensor;
  w: Tensor;
  /** AdamW's m, SGD's momentum buffer (absent without momentum: a dummy is bound). */
  m?: Tensor;
  /** AdamW's v. */
  v?: Tensor;
}

/** One update over every binding range of a parameter: vec4 entry for the bulk, scalar for the last N mod 4. */
function recordUpdate(gpu: Gpu, op: "adamw" | "sgd", clip: Tensor, t: UpdateTensors, fields: Fields, maxElements?: number): void {
  const per = gpu.isSoftware ? 16 : 1; // vec4s per invocation (shaders/optimizer.wgsl, Params.per)
  for (const r of bindingRanges(gpu, t.w.size, maxElements)) {
    const at = (x: Tensor, bytes: number): Binding => ({ tensor: x, offset: r.start * 4, size: bytes });
    const slots = (bytes: number) => [at(t.grad, bytes), at(t.w, bytes), t.m ? at(t.m, bytes) : dummy(gpu), t.v && at(t.v, bytes)];
    const n4 = Math.floor(r.count / 4);
    if (n4 > 0) {
      const params = pack({ ...fields, n: n4, base: 0, per });
      const bindings = [clip, ...slots(n4 * 16)];
      dispatch(gpu, { op, shader: OPTIMIZER, entry: `${op}_step`, params, bindings, workgroups: Math.ceil(n4 / (256 * per)) });
    }
    if (r.count % 4 !== 0) {
      const params = pack({ ...fields, n: r.count, base: n4 * 4 });
      const bindings = [clip, undefined, undefined, undefined, undefined, ...slots(r.count * 4)];
      dispatch(gpu, { op, shader: OPTIMIZER, entry: `${op}_tail`, params, bindings, workgroups: 1 });
    }
  }
}

function checkParams(op: string, params: readonly OptimParam[]): OptimParam[] {
  if (params.length === 0) throw runError(`${op}: no parameters`);
  const names = new Set<string>();
  for (const p of params) {
    if (names.has(p.name)) throw runError(`${op}: parameter ${p.name} is listed twice`);
    names.add(p.name);
    if (p.param.dtype !== "f32" || p.grad.dtype !== "f32") throw runError(`${op}: ${p.name}: param and grad must be f32 (got ${p.param.dtype}, ${p.grad.dtype})`);
    if (shapeString(p.param.shape) !== shapeString(p.grad.shape)) {
      throw runError(`${op}: ${p.name}: param ${shapeString(p.param.shape)} and grad ${shapeString(p.grad.shape)} shapes differ`);
    }
    if (p.param.size === 0) throw runError(`${op}: ${p.name}: param ${shapeString(p.param.shape)} is empty`);
    if (p.param.buffer === p.grad.buffer) throw runError(`${op}: ${p.name}: param and grad are the same buffer`);
  }
  return [...params];
}

function checkLr(op: string, lr: number): void {
  if (!(lr >= 0 && Number.isFinite(lr))) throw usageError(`${op}: lr ${lr} must be a finite number >= 0`);
}

function checkStep(op: string, step: number, lr: number): void {
  if (!Number.isInteger(step) || step < 1) throw runError(`${op}: step ${step} must be an integer >= 1 (steps count from 1)`);
  checkLr(op, lr);
}

function common(gpu: Gpu, op: string, params: readonly OptimParam[]): Common {
  const clip = createTensor(gpu, [2], "f32", `${op}.clip`); // [2]: norm, coefficient
  return { clip, partials: createPartials(gpu, op, params.map((p) => p.grad)) };
}

function createPartials(gpu: Gpu, op: string, grads: readonly Tensor[]): Tensor {
  const P = grads.reduce((n, g) => n + chunkCount(gpu, g.size), 0);
  if (P === 0) throw runError(`${op}: no gradient elements to take the norm of`);
  return createTensor(gpu, [P], "f32", `${op}.partials`); // [P]
}

/** A zero-filled tensor (cleared on the GPU, in the current batch; any size). */
function zeros(gpu: Gpu, shape: readonly number[], label: string): Tensor {
  const t = createTensor(gpu, shape, "f32", label);
  zeroTensor(gpu, t);
  return t;
}

/** The momentum slot of SGD without momentum: bound, never read or written. */
const dummies = new WeakMap<Gpu, Tensor>();
function dummy(gpu: Gpu): Tensor {
  let t = dummies.get(gpu);
  if (!t || t.released) dummies.set(gpu, (t = createTensor(gpu, [4], "f32", "optimizer.unused")));
  return t;
}
