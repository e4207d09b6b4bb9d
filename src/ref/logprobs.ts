// Float64 twin of src/kernels/logprobs.ts (same argument order): whole rows of logits at once,
// no chunks or vocab blocks, for tests and `longrl bench`. Flat row-major arrays:
// h [N, C], w [V, C], targets [N] (0xFFFFFFFF = masked: logp 0, no logp gradient). The backward
// twin recomputes lse and entropy itself instead of taking the forward's `saved` tensors.

export const MASKED_TARGET_REF = 0xffffffff;

export interface LogprobsRefOptions {
  /** Logits are divided by it (default 1). */
  temperature?: number;
}

export interface LogprobsRefGrads {
  dlogp?: ArrayLike<number>;
  dentropy?: ArrayLike<number>;
}

/** logits[j] = h[n]·w[j] / τ for one position. */
function rowLogits(h: ArrayLike<number>, w: ArrayLike<number>, n: number, C: number, V: number, tau: number): Float64Array {
  const x = new Float64Array(V);
  for (let j = 0; j < V; j++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += h[n * C + c]! * w[j * C + c]!;
    x[j] = s / tau;
  }
  return x;
}

function logSumExp(x: Float64Array): number {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  return m + Math.log(s);
}

/** Row n's tempered logits x, their log-sum-exp z, and the entropy of softmax(x). */
function rowStats(h: ArrayLike<number>, w: ArrayLike<number>, n: number, C: number, V: number, tau: number) {
  const x = rowLogits(h, w, n, C, V, tau);
  const z = logSumExp(x);
  let ent = 0;
  for (const v of x) ent -= Math.exp(v - z) * (v - z);
  return { x, z, ent };
}

/** logp, entropy and lse per position of softmax(h·wᵀ/τ). */
export function logprobsForwardRef(
  h: ArrayLike<number>, w: ArrayLike<number>, targets: ArrayLike<number>, N: number, C: number, V: number, opts: LogprobsRefOptions = {},
): { logp: Float64Array; entropy: Float64Array; lse: Float64Array } {
  const tau = opts.temperature ?? 1;
  const logp = new Float64Array(N);
  const entropy = new Float64Array(N);
  const lse = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const { x, z, ent } = rowStats(h, w, n, C, V, tau);
    const t = targets[n]!;
    lse[n] = z;
    entropy[n] = ent;
    logp[n] = t === MASKED_TARGET_REF ? 0 : t < V ? x[t]! - z : NaN;
  }
  return { logp, entropy, lse };
}

/**
 * dh [N, C] and dw [V, C] of loss = Σ dlogp·logp + Σ dentropy·entropy. Per logit x = z/τ:
 * d logp/d x_j = 1[j = t] − p_j; d entropy/d x_j = −p_j (log p_j + entropy); then d/d z = d/d x / τ,
 * dh = dz·w, dw = dzᵀ·h.
 */
export function logprobsBackwardRef(
  h: ArrayLike<number>, w: ArrayLike<number>, targets: ArrayLike<number>, grads: LogprobsRefGrads,
  N: number, C: number, V: number, opts: LogprobsRefOptions = {},
): { dh: Float64Array; dw: Float64Array } {
  const tau = opts.temperature ?? 1;
  const dh = new Float64Array(N * C);
  const dw = new Float64Array(V * C);
  for (let n = 0; n < N; n++) {
    const { x, z, ent } = rowStats(h, w, n, C, V, tau);
    const t = targets[n]!;
    const dl = t === MASKED_TARGET_REF ? 0 : (grads.dlogp?.[n] ?? 0);
    const de = grads.dentropy?.[n] ?? 0;
    for (let j = 0; j < V; j++) {
      const lp = x[j]! - z;
      const p = Math.exp(lp);
      const g = (dl * ((j === t ? 1 : 0) - p) - de * p * (lp + ent)) / tau;
      if (g === 0) continue;
      for (let c = 0; c < C; c++) {
        dh[n * C + c] += g * w[j * C + c]!;
        dw[j * C + c] += g * h[n * C + c]!;
      }
    }
  }
  return { dh, dw };
}
