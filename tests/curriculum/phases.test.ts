// Curriculum phase pools: boundaries (L(k−1) < tokens <= L(k)), curriculum off, excluded records,
// empty phases as errors naming the phase, and the phase of a global step.
import { describe, expect, test } from "bun:test";
import { partitionPhases, phaseAtStep } from "../../src/curriculum/phases.ts";

const rec = (id: string, promptTokens: number) => ({ id, promptTokens });
const PHASES = [{ maxPromptTokens: 100, steps: 3 }, { maxPromptTokens: 300, steps: 2 }];

describe("partitionPhases", () => {
  test("a record at a limit belongs to that phase; one past it to the next; past the last is excluded", () => {
    const records = [rec("a", 1), rec("b", 100), rec("c", 101), rec("d", 300), rec("e", 301), rec("f", 5000), rec("g", 0)];
    const plan = partitionPhases(records, PHASES);
    expect(plan.pools.map((p) => p.map((r) => r.id))).toEqual([["a", "b", "g"], ["c", "d"]]);
    expect(plan.bounds).toEqual([[0, 100], [100, 300]]);
    expect(plan.excluded).toBe(2);
    expect(plan.phases).toEqual(PHASES);
  });

  test("cumulative: phase k holds every record of at most L(k) tokens, in input order", () => {
    const records = [rec("a", 1), rec("c", 101), rec("b", 100), rec("d", 300), rec("e", 301)];
    const plan = partitionPhases(records, PHASES, true, true);
    expect(plan.pools.map((p) => p.map((r) => r.id))).toEqual([["a", "b"], ["a", "c", "b", "d"]]);
    expect(plan.bounds).toEqual([[0, 100], [0, 300]]);
    expect(plan.excluded).toBe(1);
    expect(partitionPhases(records, PHASES, false, true).pools.map((p) => p.length)).toEqual([4]);
  });

  test("curriculum off: one phase over everything up to the last limit, for the summed steps", () => {
    const plan = partitionPhases([rec("a", 50), rec("b", 250), rec("c", 400)], PHASES, false);
    expect(plan.phases).toEqual([{ maxPromptTokens: 300, steps: 5 }]);
    expect(plan.pools.map((p) => p.map((r) => r.id))).toEqual([["a", "b"]]);
    expect(plan.excluded).toBe(1);
  });

  test("an empty phase is an error naming the phase and its limits", () => {
    expect(() => partitionPhases([rec("a", 50), rec("b", 400)], PHASES)).toThrow(
      "curriculum.phases.1: no records with 100 < prompt tokens <= 300 (of 2, 1 longer than 300); add data of that length or change the phase's maxPromptTokens",
    );
    expect(() => partitionPhases([rec("b", 400)], PHASES, false)).toThrow(/^curriculum \(off\): no records with prompt tokens <= 300/);
  });

  test("phases that do not grow, and bad token counts, are errors", () => {
    expect(() => partitionPhases([rec("a", 1)], [{ maxPromptTokens: 100, steps: 1 }, { maxPromptTokens: 100, steps: 1 }])).toThrow(/curriculum.phases.1.maxPromptTokens 100 must be > curriculum.phases.0/);
    expect(() => partitionPhases([rec("a", Number.NaN)], PHASES)).toThrow(/record a: promptTokens NaN/);
    expect(() => partitionPhases([], [])).toThrow(/curriculum.phases is empty/);
  });
});

describe("phaseAtStep", () => {
  test("maps global steps to (phase, step in phase) and says when the curriculum is over", () => {
    expect(phaseAtStep(PHASES, 0)).toEqual({ phase: 0, stepInPhase: 0 });
    expect(phaseAtStep(PHASES, 2)).toEqual({ phase: 0, stepInPhase: 2 });
    expect(phaseAtStep(PHASES, 3)).toEqual({ phase: 1, stepInPhase: 0 });
    expect(phaseAtStep(PHASES, 4)).toEqual({ phase: 1, stepInPhase: 1 });
    expect(phaseAtStep(PHASES, 5)).toBeUndefined();
    expect(phaseAtStep([{ maxPromptTokens: 10, steps: 0 }, { maxPromptTokens: 20, steps: 1 }], 0)).toEqual({ phase: 1, stepInPhase: 0 });
  });
});
