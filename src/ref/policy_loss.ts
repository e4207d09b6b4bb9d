// Float64 twin of src/kernels/policy_loss.ts (same argument order; results returned): DAPO/GRPO
// token-level clipped policy loss with verl's low_var_kl (k3) term and entropy bonus.

export interface PolicyLossRefInputs {
  logp: ArrayLike<number>;
  logpOld: ArrayLike<number>;
  adv: ArrayLike<number>;
  weight: ArrayLike<number>;
  refLogp?: ArrayLike<number>;
  entropy?: ArrayLike<number>;
}

export interface PolicyLossRefOptions {
  clipLow: number;
  clipHigh: number;
  entropyCoef: number;
  klCoef: number;
  denom: number;
}

export interface PolicyLossRefResult {
  dlogp: Float64Array; // [N]
  dentropy: Float64Array; // [N]
  /** [6, N]: w·l, w·clipped, w·(logp_old − logp), w·k3, w·entropy, w (the kernel's STAT rows). */
  stats: Float64Array;
  /** [6]: the row sums of stats. */
  sums: Float64Array;
  /** The loss itself, for finite differences. */
  loss: number;
}

const RATIO_CLAMP = 20;
const KL_CLAMP = 10;
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** ratio = exp(clamp(logp − logp_old, ±20)); l = max(−A·ratio, −A·clip(ratio)); k3 = clamp(e^x − x − 1, ±10), x = clamp(ref − logp, ±10). */
export function policyLossRef(inputs: PolicyLossRefInputs, opts: PolicyLossRefOptions): PolicyLossRefResult {
  const { logp, logpOld, adv, weight, refLogp, entropy } = inputs;
  const n = logp.length;
  const dlogp = new Float64Array(n);
  const dentropy = new Float64Array(n);
  const stats = new Float64Array(6 * n);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const w = weight[i]!;
    stats[5 * n + i] = w;
    if (w === 0) continue;
    const a = adv[i]!;
    const raw = logp[i]! - logpOld[i]!;
    const delta = clamp(raw, -RATIO_CLAMP, RATIO_CLAMP);
    const ratio = Math.exp(delta);
    const unclipped = -a * ratio;
    const clippedLoss = -a * clamp(ratio, 1 - opts.clipLow, 1 + opts.clipHigh);
    // Ties take the unclipped branch (its gradient flows).
    const clipped = clippedLoss > unclipped;
    const l = clipped ? clippedLoss : unclipped;
    let g = clipped || Math.abs(raw) > RATIO_CLAMP ? 0 : -a * ratio;
    let k3 = 0;
    if (refLogp) {
      const xr = refLogp[i]! - logp[i]!;
      const x = clamp(xr, -KL_CLAMP, KL_CLAMP);
      const k = Math.expm1(x) - x;
      k3 = clamp(k, -KL_CLAMP, KL_CLAMP);
      g += opts.klCoef * (Math.abs(xr) > KL_CLAMP || Math.abs(k) > KL_CLAMP ? 0 : -Math.expm1(x));
    }
    const ent = entropy ? entropy[i]! : 0;
    dlogp[i] = (w / opts.denom) * g;
    dentropy[i] = (-opts.entropyCoef * w) / opts.denom;
    stats[i] = w * l;
    stats[n + i] = clipped ? w : 0;
    stats[2 * n + i] = -w * delta;
    stats[3 * n + i] = w * k3;
    stats[4 * n + i] = w * ent;
    loss += (w * (l - opts.entropyCoef * ent + opts.klCoef * k3)) / opts.denom;
  }
  const sums = new Float64Array(6);
  for (let r = 0; r < 6; r++) for (let i = 0; i < n; i++) sums[r]! += stats[r * n + i]!;
  return { dlogp, dentropy, stats, sums, loss };
}
