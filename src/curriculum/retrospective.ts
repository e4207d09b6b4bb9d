// Difficulty memory and the batch sampler with difficulty-aware retrospective sampling (QwenLong-L1:
// difficulty = 1 / mean group reward; the mechanics are ours, design §5). Pure; state is plain JSON.
// Randomness is counter-keyed (seed, phase, epoch or batch index), so the state is a few integers.
import { createRng, fnv1a, mix32, type Rng } from "../util/rng.ts";
import { runError, usageError } from "../util/errors.ts";
import type { PromptRecord } from "./phases.ts";

// ---- Difficulty memory: id → latest mean reward over its G rollouts --------------------------

export interface DifficultyEntry {
  /** Latest mean reward over the prompt's G rollouts. */
  r: number;
  /** Times the prompt has been trained on. */
  seen: number;
  /** Phase (0-based) it was last trained in. */
  phase: number;
}

export type DifficultyMemory = Map<string, DifficultyEntry>;

/** trainer_state.json form: [id, r, seen, phase] rows, oldest update first. */
export interface DifficultyMemoryJson {
  version: 1;
  entries: [string, number, number, number][];
}

export function createMemory(): DifficultyMemory {
  return new Map();
}

/** Records a prompt's latest mean group reward (replacing the previous one). */
export function rememberReward(mem: DifficultyMemory, id: string, meanReward: number, phase: number): void {
  if (!Number.isFinite(meanReward)) throw runError(`difficulty memory: prompt ${id} has mean reward ${meanReward}; rewards must be finite`);
  const seen = (mem.get(id)?.seen ?? 0) + 1;
  mem.delete(id); // re-inserted at the end: the JSON order is the order of last updates
  mem.set(id, { r: meanReward, seen, phase });
}

export function memoryToJson(mem: DifficultyMemory): DifficultyMemoryJson {
  return { version: 1, entries: [...mem].map(([id, e]) => [id, e.r, e.seen, e.phase]) };
}

/** Restores memoryToJson's output exactly; `where` names the file in errors. */
export function memoryFromJson(json: unknown, where = "trainer_state.json"): DifficultyMemory {
  const j = json as Partial<DifficultyMemoryJson> | null;
  if (!j || j.version !== 1 || !Array.isArray(j.entries)) {
    throw usageError(`${where}: difficulty memory is not {version: 1, entries: [...]}; resume from a checkpoint this version wrote`);
  }
  const mem = createMemory();
  j.entries.forEach((row, i) => {
    const ok = Array.isArray(row) && row.length === 4 && typeof row[0] === "string" && Number.isFinite(row[1]) && Number.isInteger(row[2]) && Number.isInteger(row[3]);
    if (!ok) throw usageError(`${where}: difficulty memory entry ${i} is not [id, r, seen, phase]: ${JSON.stringify(row)}`);
    mem.set(row[0], { r: row[1], seen: row[2], phase: row[3] });
  });
  return mem;
}

// ---- Sampler -------------------------------------------------------------------------------

export interface SamplerOptions {
  seed: number;
  /** G: rollouts per prompt; weights are 1 / max(r, 1/G). */
  groupSize: number;
  /** Expected fraction of each batch drawn from the retrospective pool (phase 2 on). */
  share: number;
  /** false: every prompt comes from the current phase. */
  retrospective: boolean;
}

/** Where a phase's sampler stands: with the same data and memory, restoring it replays the run. */
export interface SamplerState {
  version: 1;
  phase: number;
  epoch: number;
  /** Next position in this epoch's shuffled order. */
  pos: number;
  /** Batches drawn so far in this phase (keys the retrospective draws). */
  batches: number;
  poolSize: number;
  /** FNV-1a of the pool's ids in order: a resumed run must see the same pool. */
  poolHash: number;
}

export interface Sampler<R extends PromptRecord> {
  readonly pools: readonly (readonly R[])[];
  readonly phase: number;
  readonly memory: DifficultyMemory;
  readonly opts: SamplerOptions;
  state: SamplerState;
  /** The current epoch's order of pool indices. */
  order: number[];
}

export interface BatchDraw<R> {
  /** The current phase's prompts first, then fromRetro retrospective ones. */
  records: R[];
  fromRetro: number;
  /** Size of the current phase's pool. */
  poolSize: number;
  /** Prompts eligible for the retrospective draw (earlier phases, r < 1). */
  retroPoolSize: number;
  /** Weights 1 / max(r, 1/G) over the retrospective pool; undefined when it is empty. */
  retroWeights?: { min: number; max: number; mean: number };
  /** Epoch of the current phase's order after this draw. */
  epoch: number;
  /** One line for the log when the batch could not be mixed as configured. */
  note?: string;
}

const SHUFFLE_KEY = 0x5348_5546; // "SHUF"
const RETRO_KEY = 0x5245_5452; // "RETR"

function rngFor(seed: number, key: number, phase: number, counter: number): Rng {
  return createRng(mix32(mix32(seed >>> 0) ^ mix32(key ^ phase)), counter);
}

function poolHash(pool: readonly PromptRecord[]): number {
  let h: number | undefined;
  for (const r of pool) h = fnv1a(`${r.id}\n`, h);
  return h ?? fnv1a("");
}

function epochOrder(opts: SamplerOptions, phase: number, size: number, epoch: number): number[] {
  return rngFor(opts.seed, SHUFFLE_KEY, phase, epoch).shuffle(Array.from({ length: size }, (_, i) => i));
}

/** A sampler for phase `phase` (0-based) of `pools` (partitionPhases), fresh or restored from `state`. */
export function createSampler<R extends PromptRecord>(
  pools: readonly (readonly R[])[], phase: number, memory: DifficultyMemory, opts: SamplerOptions, state?: SamplerState,
): Sampler<R> {
  const pool = pools[phase];
  if (!pool || pool.length === 0) throw runError(`sampler: phase ${phase} has no prompts (${pools.length} phases); partition with partitionPhases first`);
  if (!(opts.share >= 0 && opts.share <= 1)) throw usageError(`retrospective.share ${opts.share} must be in [0, 1]`);
  if (!Number.isInteger(opts.groupSize) || opts.groupSize < 1) throw usageError(`rl.groupSize ${opts.groupSize} must be a positive integer`);
  const fresh: SamplerState = { version: 1, phase, epoch: 0, pos: 0, batches: 0, poolSize: pool.length, poolHash: poolHash(pool) };
  if (state) {
    const ok = state.version === 1 && state.phase === phase && Number.isInteger(state.epoch) && Number.isInteger(state.batches) &&
      Number.isInteger(state.pos) && state.pos >= 0 && state.pos <= pool.length;
    if (!ok) throw usageError(`trainer_state.json: sampler state ${JSON.stringify(state)} does not belong to phase ${phase}; resume from a checkpoint this version wrote`);
    if (state.poolSize !== fresh.poolSize || state.poolHash !== fresh.poolHash) {
      throw usageError(
        `trainer_state.json: phase ${phase} had ${state.poolSize} prompts (hash ${state.poolHash}), the data now gives ` +
          `${fresh.poolSize} (hash ${fresh.poolHash}); resume with the same data and curriculum`,
      );
    }
  }
  const s = { ...state ?? fresh };
  return { pools, phase, memory, opts, state: s, order: epochOrder(opts, phase, pool.length, s.epoch) };
}

/** A copy of the sampler's state for trainer_state.json. */
export function samplerState(s: Sampler<PromptRecord>): SamplerState {
  return { ...s.state };
}

/**
 * Earlier phases' prompts with r < 1 and their weights 1 / max(r, 1/G), in pool order, each once
 * (cumulative pools hold a prompt in several phases).
 */
export function retroPool<R extends PromptRecord>(s: Sampler<R>): { records: R[]; weights: number[] } {
  const records: R[] = [];
  const weights: number[] = [];
  const seen = new Set<string>();
  for (let k = 0; k < s.phase; k++) {
    for (const r of s.pools[k]!) {
      const e = s.memory.get(r.id);
      if (e === undefined || !(e.r < 1) || seen.has(r.id)) continue;
      seen.add(r.id);
      records.push(r);
      weights.push(1 / Math.max(e.r, 1 / s.opts.groupSize));
    }
  }
  return { records, weights };
}

/** Draws m distinct indices with probability ∝ weight at each draw (sequential, without replacement). */
function weightedWithoutReplacement(weights: readonly number[], m: number, rng: Rng): number[] {
  const w = weights.slice();
  const picked: number[] = [];
  for (let j = 0; j < m; j++) {
    let total = 0;
    for (const v of w) total += v;
    let u = rng.next() * total;
    let i = -1;
    for (let k = 0; k < w.length; k++) {
      if (w[k] === 0) continue;
      i = k; // a rounding overshoot past the end keeps the last index still in the draw
      if (u < w[k]!) break;
      u -= w[k]!;
    }
    picked.push(i);
    w[i] = 0;
  }
  return picked;
}

function summary(ws: readonly number[]): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of ws) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, max, mean: sum / ws.length };
}

/**
 * The next batch of n prompts: share·n retrospective ones on average (floor or ceil of it, the
 * fractional part being the chance of ceil; at most the pool's size, less the prompts already in the
 * batch), the rest in this phase's shuffled order, reshuffled at each epoch's end (so a batch may span
 * two epochs).
 */
export function drawBatch<R extends PromptRecord>(s: Sampler<R>, n: number): BatchDraw<R> {
  if (!Number.isInteger(n) || n < 1) throw runError(`drawBatch: batch size ${n} must be a positive integer`);
  const pool = s.pools[s.phase]!;
  const rng = rngFor(s.opts.seed, RETRO_KEY, s.phase, s.state.batches);
  s.state.batches++;
  const mixing = s.phase > 0 && s.opts.retrospective && s.opts.share > 0;
  const retro = mixing ? retroPool(s) : { records: [] as R[], weights: [] as number[] };
  let note: string | undefined;
  let m = 0;
  if (mixing) {
    const want = s.opts.share * n;
    m = Math.floor(want) + (rng.next() < want - Math.floor(want) ? 1 : 0);
    if (m > retro.records.length || retro.records.length === 0) {
      note = `retrospective pool has ${retro.records.length} prompts (earlier phases, r < 1) for ${m} of ${n} slots; the rest come from curriculum.phases.${s.phase}`;
      m = Math.min(m, retro.records.length);
    }
  }
  const records: R[] = [];
  const nextFresh = (): R => {
    if (s.state.pos >= s.order.length) {
      s.state.epoch++;
      s.state.pos = 0;
      s.order = epochOrder(s.opts, s.phase, pool.length, s.state.epoch);
    }
    return pool[s.order[s.state.pos++]!]!;
  };
  for (let j = 0; j < n - m; j++) records.push(nextFresh());
  if (m > 0) {
    // A cumulative pool holds the earlier phases' prompts too: one already in this batch is not drawn
    // again, and the slots it leaves go to the current phase's order (which may fill more of them).
    let weights: number[];
    for (;;) {
      const inBatch = new Set(records.map((r) => r.id));
      weights = retro.records.map((r, i) => (inBatch.has(r.id) ? 0 : retro.weights[i]!));
      const open = weights.filter((w) => w > 0).length;
      if (open >= m) break;
      note = `retrospective pool has ${open} prompts not already in this batch for ${m} of ${n} slots; the rest come from curriculum.phases.${s.phase}`;
      for (let j = open; j < m; j++) records.push(nextFresh());
      m = open;
    }
    for (const i of weightedWithoutReplacement(weights, m, rng)) records.push(retro.records[i]!);
  }
  const draw: BatchDraw<R> = { records, fromRetro: m, poolSize: pool.length, retroPoolSize: retro.records.length, epoch: s.state.epoch };
  if (retro.weights.length > 0) draw.retroWeights = summary(retro.weights);
  if (note) draw.note = note;
  return draw;
}
