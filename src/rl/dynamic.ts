// DAPO dynamic sampling: drop prompt groups whose accuracy is the same for all G rollouts (they
// carry no GRPO signal), and refill the batch over rounds up to a limit (design §5; verl's DAPO trainer).
// It never throws at the limit: the step goes ahead with what it has, and the reason is reported.
import { runError } from "../util/errors.ts";

/** One prompt's rollouts; scores are the rule/hybrid score before the overlong term. */
export interface ScoredGroup {
  scores: readonly number[];
}

/** A rollout counts as correct when its score is 1 (scores lie in [0, 1]; >= 1 is used). */
export function isCorrect(score: number): boolean {
  return score >= 1;
}

/**
 * Indices of the groups to keep and to drop. A group is dropped when every rollout is correct or
 * every rollout is wrong; a group of one rollout is kept (verl keeps groups of size 1).
 */
export function filterGroups(groups: readonly ScoredGroup[]): { kept: number[]; dropped: number[] } {
  const kept: number[] = [];
  const dropped: number[] = [];
  groups.forEach((g, i) => {
    if (g.scores.length === 0) throw runError(`filterGroups: group ${i} has no rollouts`);
    const first = isCorrect(g.scores[0]!);
    const same = g.scores.every((s) => isCorrect(s) === first);
    (same && g.scores.length > 1 ? dropped : kept).push(i);
  });
  return { kept, dropped };
}

/** Refill state for one training step: create it, accumulate() each round's groups, then finish(). */
export interface DynamicState<G extends ScoredGroup> {
  /** Groups the step wants (verl's train_batch_size). */
  readonly target: number;
  /** Rounds of drawing allowed before the step goes ahead short (verl's max_num_gen_batches). */
  readonly maxRounds: number;
  /** false: every group is kept (dynamic sampling off); the first round fills the batch. */
  readonly filter: boolean;
  kept: G[];
  rounds: number;
  /** Groups seen and dropped over all rounds, for the metrics line. */
  seen: number;
  dropped: number;
  /** Groups dropped because every rollout was correct (the rest were all wrong). */
  droppedAllCorrect: number;
}

export function createDynamicState<G extends ScoredGroup>(target: number, maxRounds: number, filter = true): DynamicState<G> {
  if (!Number.isInteger(target) || target < 1) throw runError(`dynamic sampling: target ${target} groups must be a positive integer`);
  if (!Number.isInteger(maxRounds) || maxRounds < 1) throw runError(`dynamic sampling: rl.dynamicSampling.maxRounds ${maxRounds} must be a positive integer`);
  return { target, maxRounds, filter, kept: [], rounds: 0, seen: 0, dropped: 0, droppedAllCorrect: 0 };
}

/** Adds one round's groups (in order); returns how many of them were kept. */
export function accumulate<G extends ScoredGroup>(state: DynamicState<G>, groups: readonly G[]): number {
  state.rounds++;
  state.seen += groups.length;
  if (!state.filter) {
    state.kept.push(...groups);
    return groups.length;
  }
  const { kept, dropped } = filterGroups(groups);
  for (const i of kept) state.kept.push(groups[i]!);
  state.dropped += dropped.length;
  state.droppedAllCorrect += dropped.filter((i) => isCorrect(groups[i]!.scores[0]!)).length;
  return kept.length;
}

export function isFull(state: DynamicState<ScoredGroup>): boolean {
  return state.kept.length >= state.target;
}

/** Whether the trainer should draw another round: not full and rounds left. */
export function wantsMore(state: DynamicState<ScoredGroup>): boolean {
  return !isFull(state) && state.rounds < state.maxRounds;
}

/** How many more groups to draw to fill the batch (0 when full). */
export function missing(state: DynamicState<ScoredGroup>): number {
  return Math.max(0, state.target - state.kept.length);
}

export interface DynamicResult<G> {
  /** The first `target` kept groups, in the order they came (fewer when short). */
  groups: G[];
  full: boolean;
  /** The round limit was reached with the batch short. */
  limitHit: boolean;
  rounds: number;
  seen: number;
  dropped: number;
  droppedAllCorrect: number;
  /** One line for the log when the batch is short; undefined when full. */
  reason?: string;
}

/** Closes the step: trims to the target (as verl does) and says why the batch is short, if it is. */
export function finish<G extends ScoredGroup>(state: DynamicState<G>): DynamicResult<G> {
  const full = isFull(state);
  const result: DynamicResult<G> = {
    groups: state.kept.slice(0, state.target),
    full,
    limitHit: !full && state.rounds >= state.maxRounds,
    rounds: state.rounds,
    seen: state.seen,
    dropped: state.dropped,
    droppedAllCorrect: state.droppedAllCorrect,
  };
  if (!full) {
    result.reason =
      `dynamic sampling: ${state.kept.length} of ${state.target} groups after ${state.rounds} round(s) ` +
      `(${state.dropped} of ${state.seen} dropped with equal accuracy${result.limitHit ? `; rl.dynamicSampling.maxRounds ${state.maxRounds} reached` : ""}); ` +
      `training on a short batch`;
  }
  return result;
}
