// Float64 twins of src/kernels/optimizer.ts, written from the formulas (not the kernel's order):
// AdamW as torch.optim.AdamW documents it (decoupled weight decay, bias-corrected m̂ and v̂), SGD as
// torch.optim.SGD, clipping as torch.nn.utils.clip_grad_norm_. The twin state holds float64 copies;
// tests set each slot's grad before a step.
import { ADAMW_DEFAULTS, SGD_DEFAULTS, type AdamWOptions, type SgdOptions } from "../kernels/optimizer.ts";

export interface RefParam {
  name: string;
  param: ArrayLike<number>;
  grad: ArrayLike<number>;
  decay?: boolean;
}

export interface RefSlot {
  name: string;
  decay: boolean;
  param: Float64Array;
  grad: Float64Array;
  /** AdamW: m, v. SGD: buf (momentum buffer). */
  m: Float64Array;
  v: Float64Array;
}

export interface AdamWRefState {
  opts: typeof ADAMW_DEFAULTS & AdamWOptions;
  slots: RefSlot[];
}

export interface SgdRefState {
  opts: typeof SGD_DEFAULTS & SgdOptions;
  slots: RefSlot[];
}

function refSlots(params: readonly RefParam[]): RefSlot[] {
  return params.map((p) => ({
    name: p.name,
    decay: p.decay ?? true,
    param: Float64Array.from(p.param),
    grad: Float64Array.from(p.grad),
    m: new Float64Array(p.param.length),
    v: new Float64Array(p.param.length),
  }));
}

/** Global norm sqrt(Σ g²) and the clip coefficient min(1, maxNorm / (norm + 1e-6)) (1 without clipping). */
export function gradNormRef(grads: readonly ArrayLike<number>[], maxGradNorm = 0): { norm: number; coef: number } {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  const norm = Math.sqrt(s);
  const clip = maxGradNorm > 0 && Number.isFinite(maxGradNorm) && Number.isFinite(norm);
  return { norm, coef: clip ? Math.min(1, maxGradNorm / (norm + 1e-6)) : 1 };
}

export function createAdamWRef(params: readonly RefParam[], options: AdamWOptions = {}): AdamWRefState {
  return { opts: { ...ADAMW_DEFAULTS, ...options }, slots: refSlots(params) };
}

/** One AdamW step t = step on the twin state, in place; returns the norm and the clip coefficient. */
export function adamwStepRef(state: AdamWRefState, args: { step: number; lr?: number }): { norm: number; coef: number } {
  const o = state.opts;
  const lr = args.lr ?? o.lr;
  const t = args.step;
  const [b1, b2] = o.betas;
  const clip = gradNormRef(state.slots.map((s) => s.grad), o.maxGradNorm);
  if (o.skipNonFinite && !Number.isFinite(clip.norm)) return clip;
  for (const s of state.slots) {
    const wd = s.decay ? o.weightDecay : 0;
    for (let i = 0; i < s.param.length; i++) {
      const g = clip.coef * s.grad[i]!;
      let p = s.param[i]!;
      p -= lr * wd * p; // decoupled weight decay (Loshchilov & Hutter), before the Adam update
      s.m[i] = b1 * s.m[i]! + (1 - b1) * g;
      s.v[i] = b2 * s.v[i]! + (1 - b2) * g * g;
      const mHat = s.m[i]! / (1 - b1 ** t);
      const vHat = s.v[i]! / (1 - b2 ** t);
      s.param[i] = p - (lr * mHat) / (Math.sqrt(vHat) + o.eps);
    }
  }
  return clip;
}

export function createSgdRef(params: readonly RefParam[], options: SgdOptions = {}): SgdRefState {
  return { opts: { ...SGD_DEFAULTS, ...options }, slots: refSlots(params) };
}

/** One SGD step on the twin state, in place (buffer in slot.m); returns the norm and the clip coefficient. */
export function sgdStepRef(state: SgdRefState, args: { step: number; lr?: number }): { norm: number; coef: number } {
  const o = state.opts;
  const lr = args.lr ?? o.lr;
  const clip = gradNormRef(state.slots.map((s) => s.grad), o.maxGradNorm);
  if (o.skipNonFinite && !Number.isFinite(clip.norm)) return clip;
  for (const s of state.slots) {
    const wd = s.decay ? o.weightDecay : 0;
    for (let i = 0; i < s.param.length; i++) {
      let d = clip.coef * s.grad[i]! + wd * s.param[i]!;
      if (o.momentum !== 0) {
        s.m[i] = args.step === 1 ? d : o.momentum * s.m[i]! + (1 - o.dampening) * d;
        d = o.nesterov ? d + o.momentum * s.m[i]! : s.m[i]!;
      }
      s.param[i] = s.param[i]! - lr * d;
    }
  }
  return clip;
}
