// GRPO outcome advantages: each rollout's reward normalized within its prompt group (design §5;
// verl's compute_grpo_outcome_advantage). The same A goes on every response token of a rollout.
import { runError } from "../util/errors.ts";

/** Added to the group's standard deviation, as verl does (a group of equal rewards gets A = 0). */
export const ADVANTAGE_EPS = 1e-6;

/**
 * A_i = (R_i − mean) / (std_unbiased + 1e-6) over each consecutive group of G rewards; a group of
 * one uses mean 0 and std 1 (verl), so its advantage is its reward. rewards.length must be a
 * multiple of G.
 */
export function grpoAdvantages(rewards: ArrayLike<number>, G: number): Float64Array {
  if (!Number.isInteger(G) || G < 1) throw runError(`grpoAdvantages: group size G = ${G} must be a positive integer`);
  if (rewards.length % G !== 0) {
    throw runError(`grpoAdvantages: ${rewards.length} rewards do not split into groups of G = ${G}; pass whole groups`);
  }
  const out = new Float64Array(rewards.length);
  for (let g0 = 0; g0 < rewards.length; g0 += G) {
    let mean = 0;
    let std = 1;
    if (G > 1) {
      for (let i = 0; i < G; i++) mean += rewards[g0 + i]!;
      mean /= G;
      let ss = 0;
      for (let i = 0; i < G; i++) ss += (rewards[g0 + i]! - mean) ** 2;
      std = Math.sqrt(ss / (G - 1));
    }
    for (let i = 0; i < G; i++) out[g0 + i] = (rewards[g0 + i]! - mean) / (std + ADVANTAGE_EPS);
  }
  return out;
}
