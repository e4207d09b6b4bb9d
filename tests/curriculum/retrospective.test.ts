// Difficulty memory round trip, and the sampler: determinism, resume equality, epochs, the
// retrospective share, weights ∝ 1 / max(r, 1/G) on a few thousand draws, r = 1 never re-drawn;
// cumulative pools (a prompt in several phases): each retrospective prompt once, never twice in a batch.
import { describe, expect, test } from "bun:test";
import {
  type DifficultyMemory, createMemory, createSampler, drawBatch, memoryFromJson, memoryToJson, rememberReward, retroPool, samplerState,
} from "../../src/curriculum/retrospective.ts";
import { createRng } from "../../src/util/rng.ts";

type Rec = { id: string; promptTokens: number };
const pool = (prefix: string, n: number, tokens: number): Rec[] => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, promptTokens: tokens }));
const OPTS = { seed: 7, groupSize: 8, share: 0.25, retrospective: true };

describe("difficulty memory", () => {
  test("round-trips through JSON text exactly, keeping the order of last updates", () => {
    const mem = createMemory();
    rememberReward(mem, "a", 0.125, 0);
    rememberReward(mem, "b", 1 / 3, 0);
    rememberReward(mem, "a", 0.1 + 0.2, 1);
    rememberReward(mem, "c", -0.75, 1);
    expect(mem.get("a")).toEqual({ r: 0.1 + 0.2, seen: 2, phase: 1 });
    const back = memoryFromJson(JSON.parse(JSON.stringify(memoryToJson(mem))));
    expect([...back]).toEqual([...mem]);
    expect([...back.keys()]).toEqual(["b", "a", "c"]);
  });

  test("bad JSON and non-finite rewards are errors naming the place", () => {
    expect(() => memoryFromJson({ version: 2, entries: [] })).toThrow(/trainer_state.json: difficulty memory is not/);
    expect(() => memoryFromJson({ version: 1, entries: [["a", "x", 1, 0]] }, "s.json")).toThrow(/s.json: difficulty memory entry 0/);
    expect(() => rememberReward(createMemory(), "a", Number.NaN, 0)).toThrow(/prompt a has mean reward NaN/);
  });
});

/** Two phases: 50 short prompts trained in phase 0 with rewards from a seeded stream, 40 long ones. */
function setup(): { pools: Rec[][]; mem: DifficultyMemory } {
  const pools = [pool("s", 50, 10), pool("l", 40, 100)];
  const mem = createMemory();
  const rng = createRng(3, 0);
  for (const r of pools[0]!) rememberReward(mem, r.id, rng.int(9) / 8, 0);
  return { pools, mem };
}

/** Draws k batches, remembering a reward for each drawn prompt (as the trainer would). */
function run(s: ReturnType<typeof createSampler<Rec>>, k: number, n: number): string[][] {
  const out: string[][] = [];
  for (let b = 0; b < k; b++) {
    const d = drawBatch(s, n);
    out.push(d.records.map((r) => r.id));
    // Rewards keyed by the phase's batch count, so they do not depend on where a run was split.
    d.records.forEach((r, i) => rememberReward(s.memory, r.id, ((s.state.batches + i) % 9) / 8, s.phase));
  }
  return out;
}

describe("sampler", () => {
  test("phase 1: epoch by epoch through a seeded shuffle; same seed, same order", () => {
    const { pools, mem } = setup();
    const s = createSampler(pools, 0, mem, OPTS);
    const first = run(s, 5, 10).flat();
    expect(new Set(first).size).toBe(50); // one epoch: every prompt once
    expect(s.state.epoch).toBe(0);
    const second = run(s, 5, 10).flat();
    expect(new Set(second).size).toBe(50);
    expect(second).not.toEqual(first); // reshuffled at the epoch's end
    expect(s.state.epoch).toBe(1);
    expect(run(createSampler(pools, 0, setup().mem, OPTS), 5, 10).flat()).toEqual(first);
    expect(run(createSampler(pools, 0, setup().mem, { ...OPTS, seed: 8 }), 5, 10).flat()).not.toEqual(first);
  });

  test("resume: draw k batches, serialize sampler and memory, restore, draw more = uninterrupted", () => {
    const whole = setup();
    const uninterrupted = run(createSampler(whole.pools, 1, whole.mem, OPTS), 12, 9);
    const part = setup();
    const a = createSampler(part.pools, 1, part.mem, OPTS);
    const head = run(a, 5, 9);
    const saved = JSON.parse(JSON.stringify({ sampler: samplerState(a), memory: memoryToJson(a.memory) }));
    const b = createSampler(part.pools, 1, memoryFromJson(saved.memory), OPTS, saved.sampler);
    expect([...head, ...run(b, 7, 9)]).toEqual(uninterrupted);
    expect(uninterrupted.flat().some((id) => id.startsWith("s"))).toBe(true);
  });

  test("a restored state from other data or another phase is an error", () => {
    const { pools, mem } = setup();
    const st = samplerState(createSampler(pools, 1, mem, OPTS));
    expect(() => createSampler([pools[0]!, pools[1]!.slice(1)], 1, mem, OPTS, st)).toThrow(/phase 1 had 40 prompts .* the data now gives 39/);
    expect(() => createSampler(pools, 0, mem, OPTS, st)).toThrow(/does not belong to phase 0/);
  });

  test("the share is respected: floor or ceil of share·n per batch, share·n on average, none in phase 1", () => {
    const { pools, mem } = setup();
    const s = createSampler(pools, 1, mem, { ...OPTS, share: 0.3 });
    let total = 0;
    for (let b = 0; b < 400; b++) {
      const d = drawBatch(s, 10);
      expect([3, 4]).toContain(d.fromRetro);
      expect(d.records.slice(10 - d.fromRetro).every((r) => r.id.startsWith("s"))).toBe(true);
      expect(d.records.slice(0, 10 - d.fromRetro).every((r) => r.id.startsWith("l"))).toBe(true);
      expect(new Set(d.records.slice(10 - d.fromRetro)).size).toBe(d.fromRetro); // without replacement
      expect(d.poolSize).toBe(40);
      total += d.fromRetro;
    }
    expect(total / 4000).toBeGreaterThan(0.28);
    expect(total / 4000).toBeLessThan(0.32);
    const p0 = createSampler(pools, 0, mem, OPTS);
    expect(drawBatch(p0, 10).fromRetro).toBe(0);
    expect(drawBatch(createSampler(pools, 1, mem, { ...OPTS, retrospective: false }), 10).fromRetro).toBe(0);
  });

  test("weighted draw: frequencies ∝ 1 / max(r, 1/G); r = 1 is never drawn", () => {
    const pools = [pool("s", 5, 10), pool("l", 20, 100)];
    const mem = createMemory();
    const rs = [0, 0.25, 0.5, 0.75, 1]; // weights 8, 4, 2, 4/3, (excluded)
    pools[0]!.forEach((r, i) => rememberReward(mem, r.id, rs[i]!, 0));
    const s = createSampler(pools, 1, mem, { ...OPTS, share: 0.1 }); // one retro prompt per batch of 10
    const counts = new Map<string, number>();
    const draws = 4000;
    for (let b = 0; b < draws; b++) {
      const d = drawBatch(s, 10);
      expect(d.fromRetro).toBe(1);
      expect(d.retroPoolSize).toBe(4);
      const id = d.records[9]!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.get("s4")).toBeUndefined();
    const w = [8, 4, 2, 4 / 3];
    const wsum = w.reduce((a, b) => a + b, 0);
    w.forEach((wi, i) => {
      const p = wi / wsum;
      const sd = Math.sqrt((p * (1 - p)) / draws);
      expect(Math.abs((counts.get(`s${i}`) ?? 0) / draws - p)).toBeLessThan(4 * sd);
    });
    expect(drawBatch(s, 10).retroWeights).toEqual({ min: 4 / 3, max: 8, mean: wsum / 4 });
    expect(retroPool(s).records.map((r) => r.id)).toEqual(["s0", "s1", "s2", "s3"]);
  });

  test("an empty retrospective pool fills the batch from the current phase and says so", () => {
    const pools = [pool("s", 5, 10), pool("l", 20, 100)];
    const mem = createMemory();
    for (const r of pools[0]!) rememberReward(mem, r.id, 1, 0);
    const d = drawBatch(createSampler(pools, 1, mem, OPTS), 8);
    expect(d.fromRetro).toBe(0);
    expect(d.records.length).toBe(8);
    expect(d.retroWeights).toBeUndefined();
    expect(d.note).toBe("retrospective pool has 0 prompts (earlier phases, r < 1) for 2 of 8 slots; the rest come from curriculum.phases.1");
  });
  test("cumulative pools: a retrospective prompt counts once, and none is drawn twice in a batch", () => {
    const short = pool("s", 6, 10);
    const pools = [short, [...short, ...pool("m", 4, 50)], [...short, ...pool("m", 4, 50), ...pool("l", 4, 100)]];
    const mem = createMemory();
    for (const r of pools[1]!) rememberReward(mem, r.id, 0, 0);
    const s = createSampler(pools, 2, mem, { ...OPTS, share: 0.5 });
    expect(retroPool(s).records.map((r) => r.id)).toEqual(["s0", "s1", "s2", "s3", "s4", "s5", "m0", "m1", "m2", "m3"]);
    for (let b = 0; b < 200; b++) {
      const d = drawBatch(s, 8);
      expect(d.records.length).toBe(8);
      expect(d.fromRetro).toBe(4);
      // (the phase's own part may repeat a prompt only where a batch spans two epochs)
      const fresh = new Set(d.records.slice(0, 4).map((r) => r.id));
      const retro = d.records.slice(4).map((r) => r.id);
      expect(new Set(retro).size).toBe(4);
      expect(retro.some((id) => fresh.has(id))).toBe(false);
    }
    // A batch as large as the whole pool: the retrospective slots that would repeat a prompt go to the phase's order.
    const whole = createSampler(pools, 2, mem, { ...OPTS, share: 0.5 });
    const d = drawBatch(whole, 14);
    expect(d.records.length).toBe(14);
    expect(new Set(d.records.map((r) => r.id)).size).toBe(14);
    expect(d.fromRetro).toBeLessThan(7);
    expect(d.note).toMatch(/^retrospective pool has \d+ prompts not already in this batch for \d+ of 14 slots/);
  });
});
