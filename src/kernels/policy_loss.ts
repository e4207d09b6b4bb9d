// Host half of shaders/policy_loss.wgsl: DAPO/GRPO token-level clipped policy loss, its gradients
// w.r.t. logp and entropy, per-token stats, and their sums (src/kernels/reduce.ts) for the metrics.
// Letters: N tokens of a micro-batch (prompt and padding tokens carry weight 0).
import type { Gpu } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, shapeString, zeroTensor } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import { sumRows } from "./reduce.ts";
import source from "../../shaders/policy_loss.wgsl" with { type: "text" };

const POLICY_LOSS = shader("shaders/policy_loss.wgsl", source);
/** Tokens per workgroup (CHUNK in the shader). */
const PER_WORKGROUP = 1024;

/** Rows of the stats tensor [STAT_ROWS, N] and of its sums [STAT_ROWS]; each row is weighted by w. */
export const STAT = { pgLoss: 0, clipped: 1, ppoKl: 2, k3: 3, entropy: 4, weight: 5 } as const;
export const STAT_ROWS = 6;

export interface PolicyLossInputs {
  logp: Tensor; // [N] log-probs under the current policy (logits / rollout temperature)
  logpOld: Tensor; // [N] log-probs of the policy that sampled the rollouts
  adv: Tensor; // [N] the rollout's advantage on each of its tokens
  weight: Tensor; // [N] f32; 1 on response tokens, 0 on prompt and padding
  /** [N] log-probs of the frozen reference; needed when klCoef != 0 (k3 stats are 0 without it). */
  refLogp?: Tensor;
  /** [N] per-token entropy, only for the entropy stat (its gradient does not depend on it). */
  entropy?: Tensor;
}

export interface PolicyLossOutputs {
  dlogp: Tensor; // [N] d loss / d logp
  dentropy: Tensor; // [N] d loss / d entropy = −entropyCoef·w/denom
  stats: Tensor; // [STAT_ROWS, N] per-token stats (see STAT), weighted by w
  /** [STAT_ROWS] Σ over tokens of each stats row, when given (read these, not stats). */
  sums?: Tensor;
}

export interface PolicyLossOptions {
  clipLow: number;
  clipHigh: number;
  entropyCoef: number;
  klCoef: number;
  /** Response tokens of the whole mini-batch (DAPO token-level mean), so micro-batches add up. */
  denom: number;
  /** Kernel shape (default by adapter): "cpu" 8-lane workgroups, "gpu" 64. */
  variant?: "cpu" | "gpu";
}

function checkOptions(op: string, o: PolicyLossOptions): void {
  const named: [string, number][] = [["clipLow", o.clipLow], ["clipHigh", o.clipHigh], ["entropyCoef", o.entropyCoef], ["klCoef", o.klCoef]];
  for (const [name, v] of named) {
    if (!Number.isFinite(v) || v < 0) throw runError(`${op}: ${name} ${v} must be a finite number >= 0`);
  }
  if (o.clipLow >= 1) throw runError(`${op}: clipLow ${o.clipLow} must be < 1 (the ratio's lower bound is 1 − clipLow)`);
  if (!(o.denom > 0) || !Number.isFinite(o.denom)) throw runError(`${op}: denom ${o.denom} must be > 0 (the mini-batch's response-token count)`);
}

/**
 * Records the loss's gradients and per-token stats for N tokens, and (with outputs.sums) the sums
 * of the stats rows; policyLossMetrics turns those sums into the metrics. Throws before any
 * dispatch on a shape or option error.
 */
export function policyLoss(gpu: Gpu, inputs: PolicyLossInputs, outputs: PolicyLossOutputs, opts: PolicyLossOptions): void {
  const op = "policyLoss";
  checkOptions(op, opts);
  const N = inputs.logp.size;
  const perToken: [string, Tensor | undefined][] = [
    ["logp", inputs.logp], ["logpOld", inputs.logpOld], ["adv", inputs.adv], ["weight", inputs.weight],
    ["refLogp", inputs.refLogp], ["entropy", inputs.entropy], ["dlogp", outputs.dlogp], ["dentropy", outputs.dentropy],
  ];
  for (const [name, t] of perToken) {
    if (t && (t.size !== N || t.dtype !== "f32")) throw runError(`${op}: ${name} ${shapeString(t.shape)} ${t.dtype} must be f32 with N = ${N} elements (logp's size)`);
  }
  const st = outputs.stats.shape;
  if (st.length !== 2 || st[0] !== STAT_ROWS || st[1] !== N || outputs.stats.dtype !== "f32") {
    throw runError(`${op}: stats ${shapeString(outputs.stats.shape)} must be f32 [${STAT_ROWS}, ${N}]`);
  }
  if (outputs.sums && (outputs.sums.size !== STAT_ROWS || outputs.sums.dtype !== "f32")) {
    throw runError(`${op}: sums ${shapeString(outputs.sums.shape)} must be f32 [${STAT_ROWS}]`);
  }
  if (opts.klCoef !== 0 && !inputs.refLogp) throw runError(`${op}: klCoef ${opts.klCoef} needs refLogp (the reference model's log-probs); pass it or set rl.klCoef=0`);
  if (N === 0) {
    if (outputs.sums) zeroTensor(gpu, outputs.sums);
    return;
  }
  dispatch(gpu, {
    op,
    shader: POLICY_LOSS,
    entry: "policy_loss",
    constants: {
      WG: (opts.variant ?? (gpu.isSoftware ? "cpu" : "gpu")) === "cpu" ? 8 : 64,
      HAS_REF: inputs.refLogp !== undefined,
      HAS_ENT: inputs.entropy !== undefined,
    },
    params: packParams([N], [opts.clipLow, opts.clipHigh, opts.entropyCoef, opts.klCoef, 1 / opts.denom]),
    // Absent optional inputs bind logp again (read-only aliasing; the shader does not read them).
    bindings: [inputs.logp, inputs.logpOld, inputs.adv, inputs.weight, inputs.refLogp ?? inputs.logp, inputs.entropy ?? inputs.logp, outputs.dlogp, outputs.dentropy, outputs.stats],
    workgroups: Math.ceil(N / PER_WORKGROUP),
  });
  if (outputs.sums) sumRows(gpu, outputs.stats, outputs.sums);
}

/** The metrics of a micro-batch, each already divided by denom, so micro-batches of a mini-batch add. */
export interface PolicyLossMetrics {
  /** The full loss: pgLoss − entropyCoef·entropy + klCoef·kl. */
  loss: number;
  pgLoss: number;
  /** verl's pg_clipfrac. */
  clipFrac: number;
  /** verl's ppo_kl: mean of logp_old − logp. */
  ppoKl: number;
  /** Mean k3 to the reference (0 without one). */
  kl: number;
  /** Mean entropy (0 when no entropy was passed). */
  entropy: number;
  /** Σ w over the micro-batch (the token count with 0/1 weights), not divided. */
  tokens: number;
}

/** Metrics from the STAT_ROWS sums (outputs.sums read back, or summed over micro-batches first). */
export function policyLossMetrics(sums: ArrayLike<number>, opts: Pick<PolicyLossOptions, "entropyCoef" | "klCoef" | "denom">): PolicyLossMetrics {
  if (sums.length !== STAT_ROWS) throw runError(`policyLossMetrics: got ${sums.length} sums, need ${STAT_ROWS}`);
  const m = (row: number) => sums[row]! / opts.denom;
  const pgLoss = m(STAT.pgLoss);
  const entropy = m(STAT.entropy);
  const kl = m(STAT.k3);
  return {
    loss: pgLoss - opts.entropyCoef * entropy + opts.klCoef * kl,
    pgLoss,
    clipFrac: m(STAT.clipped),
    ppoKl: m(STAT.ppoKl),
    kl,
    entropy,
    tokens: sums[STAT.weight]!,
  };
}
