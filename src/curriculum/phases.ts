// Curriculum phases: phase k trains on records with L(k−1) < prompt tokens <= L(k) (design §5;
// QwenLong-L1's progressive context scaling, 20K then 60K), or, cumulative, on every record of at
// most L(k) tokens. Pure: no GPU, no IO.
import type { CurriculumPhase } from "../config/schema.ts";
import { usageError } from "../util/errors.ts";

/** What the curriculum needs of a record. */
export interface PromptRecord {
  id: string;
  promptTokens: number;
}

export interface PhasePlan<R extends PromptRecord> {
  /** The phases trained: the configured ones, or one covering all of them when the curriculum is off. */
  phases: CurriculumPhase[];
  /** pools[k]: phase k's records, in input order (cumulative: pools[k-1] is a subsequence of pools[k]). */
  pools: R[][];
  /** (lo, hi] prompt-token bounds of each phase; the first lo is 0, and every lo is 0 when cumulative. */
  bounds: [number, number][];
  /** Records longer than the last phase's maxPromptTokens (not trained on; report the count). */
  excluded: number;
}

function checkPhases(phases: readonly CurriculumPhase[]): void {
  if (phases.length === 0) throw usageError("curriculum.phases is empty; give at least one {maxPromptTokens, steps}");
  phases.forEach((p, i) => {
    if (!Number.isInteger(p.maxPromptTokens) || p.maxPromptTokens < 1) {
      throw usageError(`curriculum.phases.${i}.maxPromptTokens ${p.maxPromptTokens} must be a positive integer`);
    }
    if (!Number.isInteger(p.steps) || p.steps < 0) throw usageError(`curriculum.phases.${i}.steps ${p.steps} must be an integer >= 0`);
    if (i > 0 && p.maxPromptTokens <= phases[i - 1]!.maxPromptTokens) {
      throw usageError(`curriculum.phases.${i}.maxPromptTokens ${p.maxPromptTokens} must be > curriculum.phases.${i - 1}.maxPromptTokens ${phases[i - 1]!.maxPromptTokens} (phases grow)`);
    }
  });
}

/**
 * Splits records into phase pools. With curriculum false, one phase holds every record up to the
 * last limit and trains for the summed steps. Cumulative, phase k's pool is every record of at most
 * L(k) tokens. A phase with no records is an error naming it.
 */
export function partitionPhases<R extends PromptRecord>(
  records: readonly R[], phases: readonly CurriculumPhase[], curriculum = true, cumulative = false,
): PhasePlan<R> {
  checkPhases(phases);
  const used: CurriculumPhase[] = curriculum
    ? phases.map((p) => ({ ...p }))
    : [{ maxPromptTokens: phases[phases.length - 1]!.maxPromptTokens, steps: phases.reduce((s, p) => s + p.steps, 0) }];
  const bounds = used.map((p, k): [number, number] => [k === 0 || cumulative ? 0 : used[k - 1]!.maxPromptTokens, p.maxPromptTokens]);
  const pools: R[][] = used.map(() => []);
  let excluded = 0;
  for (const r of records) {
    if (!Number.isFinite(r.promptTokens) || r.promptTokens < 0) throw usageError(`record ${r.id}: promptTokens ${r.promptTokens} must be a count >= 0`);
    // The first phase also takes a 0-token prompt (its lower bound is open only in name).
    const k = used.findIndex((p) => r.promptTokens <= p.maxPromptTokens);
    if (k < 0) excluded++;
    else for (let j = k; j < (cumulative ? used.length : k + 1); j++) pools[j]!.push(r);
  }
  pools.forEach((pool, k) => {
    if (pool.length > 0) return;
    const [lo, hi] = bounds[k]!;
    const where = curriculum ? `curriculum.phases.${k}` : "curriculum (off)";
    const range = lo === 0 ? `prompt tokens <= ${hi}` : `${lo} < prompt tokens <= ${hi}`;
    throw usageError(`${where}: no records with ${range} (of ${records.length}, ${excluded} longer than ${bounds[bounds.length - 1]![1]}); add data of that length or change the phase's maxPromptTokens`);
  });
  return { phases: used, pools, bounds, excluded };
}

/** The phase a global RL step (0-based) falls in, and the step within it; undefined past the last phase. */
export function phaseAtStep(phases: readonly CurriculumPhase[], step: number): { phase: number; stepInPhase: number } | undefined {
  let start = 0;
  for (let k = 0; k < phases.length; k++) {
    if (step < start + phases[k]!.steps) return { phase: k, stepInPhase: step - start };
    start += phases[k]!.steps;
  }
  return undefined;
}
