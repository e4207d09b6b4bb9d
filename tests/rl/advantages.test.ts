// GRPO advantages against hand-computed groups, and DAPO dynamic sampling: the filter, the refill
// rounds, the round limit (a short batch and a reason, never a throw).
import { describe, expect, test } from "bun:test";
import { grpoAdvantages } from "../../src/rl/advantages.ts";
import { accumulate, createDynamicState, filterGroups, finish, isFull, missing, wantsMore } from "../../src/rl/dynamic.ts";

describe("grpoAdvantages", () => {
  test("normalizes each group by its mean and unbiased std (+1e-6)", () => {
    const r = [1, 0, 0, 1, /* group 2 */ 0.5, 0.5, 1, 0];
    const a = grpoAdvantages(r, 4);
    const std1 = Math.sqrt((4 * 0.25) / 3); // mean 0.5, deviations ±0.5
    expect(a[0]).toBeCloseTo(0.5 / (std1 + 1e-6), 12);
    expect(a[1]).toBeCloseTo(-0.5 / (std1 + 1e-6), 12);
    const std2 = Math.sqrt((0 + 0 + 0.25 + 0.25) / 3);
    expect(a[4]).toBeCloseTo(0, 12);
    expect(a[6]).toBeCloseTo(0.5 / (std2 + 1e-6), 12);
    expect(a[7]).toBeCloseTo(-0.5 / (std2 + 1e-6), 12);
    // Each group's advantages sum to zero.
    expect(Math.abs(a[0]! + a[1]! + a[2]! + a[3]!)).toBeLessThan(1e-12);
  });

  test("equal rewards give 0; a group of one uses mean 0 and std 1", () => {
    expect(Array.from(grpoAdvantages([1, 1, 1], 3))).toEqual([0, 0, 0]);
    const single = grpoAdvantages([0.7, -0.2], 1);
    expect(single[0]).toBeCloseTo(0.7 / (1 + 1e-6), 15);
    expect(single[1]).toBeCloseTo(-0.2 / (1 + 1e-6), 15);
  });

  test("rewards that do not split into groups are an error", () => {
    expect(() => grpoAdvantages([1, 0, 1], 2)).toThrow(/3 rewards do not split into groups of G = 2/);
    expect(() => grpoAdvantages([1], 0)).toThrow(/group size G = 0/);
  });
});

describe("dynamic sampling", () => {
  test("filterGroups drops all-correct and all-wrong groups, keeps mixed ones and groups of one", () => {
    const groups = [{ scores: [1, 1, 1] }, { scores: [0, 0.5, 0.9] }, { scores: [1, 0, 1] }, { scores: [0.99, 1, 1] }, { scores: [1] }, { scores: [0] }];
    expect(filterGroups(groups)).toEqual({ kept: [2, 3, 4, 5], dropped: [0, 1] });
  });

  test("accumulates over rounds until full, trims to the target in order", () => {
    const s = createDynamicState<{ scores: number[]; id: number }>(3, 5);
    expect(accumulate(s, [{ id: 0, scores: [1, 1] }, { id: 1, scores: [1, 0] }])).toBe(1);
    expect(isFull(s)).toBe(false);
    expect(missing(s)).toBe(2);
    expect(wantsMore(s)).toBe(true);
    accumulate(s, [{ id: 2, scores: [0, 1] }, { id: 3, scores: [0, 0] }, { id: 4, scores: [1, 0] }, { id: 5, scores: [0, 1] }]);
    expect(isFull(s)).toBe(true);
    expect(wantsMore(s)).toBe(false);
    const r = finish(s);
    expect(r.groups.map((g) => g.id)).toEqual([1, 2, 4]);
    expect(r).toMatchObject({ full: true, limitHit: false, rounds: 2, seen: 6, dropped: 2, droppedAllCorrect: 1 });
    expect(r.reason).toBeUndefined();
  });

  test("the round limit returns a short batch with a reason and never throws", () => {
    const s = createDynamicState<{ scores: number[] }>(4, 2);
    accumulate(s, [{ scores: [1, 1] }, { scores: [0, 1] }]);
    accumulate(s, [{ scores: [0, 0] }]);
    expect(wantsMore(s)).toBe(false);
    const r = finish(s);
    expect(r.full).toBe(false);
    expect(r.limitHit).toBe(true);
    expect(r.groups.length).toBe(1);
    expect(r.reason).toContain("1 of 4 groups after 2 round(s)");
    expect(r.reason).toContain("rl.dynamicSampling.maxRounds 2 reached");
    // Nothing kept at all is still a result, not an error.
    const empty = createDynamicState<{ scores: number[] }>(2, 1);
    accumulate(empty, [{ scores: [1, 1] }]);
    expect(finish(empty)).toMatchObject({ groups: [], full: false, limitHit: true });
  });

  test("with the filter off every group is kept", () => {
    const s = createDynamicState<{ scores: number[] }>(2, 1, false);
    accumulate(s, [{ scores: [1, 1] }, { scores: [0, 0] }]);
    expect(finish(s)).toMatchObject({ full: true, dropped: 0 });
  });

  test("bad targets and limits are errors naming the setting", () => {
    expect(() => createDynamicState(0, 3)).toThrow(/target 0/);
    expect(() => createDynamicState(4, 0)).toThrow(/rl.dynamicSampling.maxRounds 0/);
  });
});
