// Paired eval comparison: per-item means, the paired standard error against a hand computation, bucketing,
// and the one-line errors for files that do not pair up.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCompare, parseBuckets } from "../../src/commands/compare.ts";
import { compareEvals, readEvalItems } from "../../src/eval/compare.ts";
import { tempDirs } from "../helpers.ts";

const dirs = tempDirs();
afterAll(() => dirs.removeAll());

/** An eval file: one line per (item, sample) with the given hybrid scores. */
function evalFile(dir: string, name: string, items: Array<{ id: string; tokens: number; hybrid: number[] }>): string {
  const lines = items.flatMap((it) => it.hybrid.map((h, s) => JSON.stringify({ id: it.id, data_source: "synth_lookup", sample: s, prompt_tokens: it.tokens, hybrid: h, rule: h })));
  const path = join(dir, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

describe("compare", () => {
  const dir = dirs.make("compare");
  // Item means A: 0.25, 0, 1, 0.5; B: 0.75, 0, 0.5, 1 → d = 0.5, 0, -0.5, 0.5.
  const a = evalFile(dir, "a.jsonl", [
    { id: "x", tokens: 100, hybrid: [1, 0, 0, 0] }, { id: "y", tokens: 200, hybrid: [0, 0, 0, 0] },
    { id: "z", tokens: 300, hybrid: [1, 1, 1, 1] }, { id: "w", tokens: 400, hybrid: [1, 0, 1, 0] },
  ]);
  // Same items in another order, as a second eval may write them.
  const b = evalFile(dir, "b.jsonl", [
    { id: "w", tokens: 400, hybrid: [1, 1, 1, 1] }, { id: "z", tokens: 300, hybrid: [1, 0, 1, 0] },
    { id: "y", tokens: 200, hybrid: [0, 0, 0, 0] }, { id: "x", tokens: 100, hybrid: [1, 1, 1, 0] },
  ]);

  test("mean difference, paired standard error and counts match a hand computation", () => {
    const [all] = compareEvals(readEvalItems(a), readEvalItems(b));
    const d = [0.5, 0, -0.5, 0.5];
    const m = d.reduce((s, x) => s + x, 0) / 4;
    const sd = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / 3);
    expect(all!.label).toBe("all");
    expect(all!.items).toBe(4);
    expect(all!.a).toBeCloseTo(0.4375, 12);
    expect(all!.b).toBeCloseTo(0.5625, 12);
    expect(all!.diff).toBeCloseTo(m, 12);
    expect(all!.se).toBeCloseTo(sd / 2, 12);
    expect([all!.up, all!.down, all!.same]).toEqual([2, 1, 1]);
  });

  test("length buckets split the items by prompt tokens, empty buckets left out", () => {
    const rows = compareEvals(readEvalItems(a), readEvalItems(b), [150, 250, 350, 1000]);
    expect(rows.map((r) => [r.label, r.items, r.diff])).toEqual([
      ["len ≤150", 1, 0.5], ["len 151–250", 1, 0], ["len 251–350", 1, -0.5], ["len 351–1000", 1, 0.5], ["all", 4, 0.125],
    ]);
    expect(rows[0]!.se).toBe(0); // one item: no spread to estimate
  });

  test("the table prints points with a sign; --json prints the rows", () => {
    let text = "";
    runCompare({ a, b, json: false }, { write: (s: string) => (text += s) });
    expect(text).toMatch(/^all\s+4\s+43\.8\s+56\.3\s+\+12\.5\s+23\.9\s+2\s+1\s+1$/m);
    let json = "";
    runCompare({ a, b, buckets: "250", json: true }, { write: (s: string) => (json += s) });
    expect(JSON.parse(json).map((r: { label: string }) => r.label)).toEqual(["len ≤250", "len >250", "all"]);
  });

  test("--qa-match re-scores qa samples from their stored prediction and answer; others and the judge's verdict stay", () => {
    const line = (sample: number, o: Record<string, unknown>) => JSON.stringify({ id: "q", data_source: "synth_lookup", sample, prompt_tokens: 100, judge: null, ...o });
    const path = join(dir, "stored.jsonl");
    writeFileSync(path, [
      line(0, { pred: "9", answer: "1955", rule: 1, hybrid: 1, em: 0 }), // the fragment the two-way rule paid
      line(1, { pred: "1955 (B)", answer: "1955", rule: 1, hybrid: 1, em: 0 }),
      line(2, { pred: "9", answer: "1955", rule: 1, judge: 1, hybrid: 1, em: 0 }), // a judge said yes: kept
      line(3, { pred: null, answer: "1955", rule: 0, hybrid: 0, em: 0 }),
      JSON.stringify({ id: "c", data_source: "synth_choice", sample: 0, prompt_tokens: 90, pred: "B", answer: "B", rule: 1, judge: null, hybrid: 1, em: null }),
    ].join("\n") + "\n");
    const hybrid = (m?: "cover" | "either" | "exact") => [...readEvalItems(path, m).values()].map((it) => it.hybrid);
    expect(hybrid()).toEqual([[1, 1, 1, 0], [1]]);
    expect(hybrid("cover")).toEqual([[0, 1, 1, 0], [1]]);
    expect(hybrid("either")).toEqual([[1, 1, 1, 0], [1]]);
    expect(hybrid("exact")).toEqual([[0, 0, 1, 0], [1]]);
    let text = "";
    runCompare({ a: path, b: path, qaMatch: "cover", json: false }, { write: (s: string) => (text += s) });
    expect(text).toContain("qa re-scored with qaMatch cover");
    expect(() => runCompare({ a: path, b: path, qaMatch: "some", json: false })).toThrow(/--qa-match 'some' is not one of cover, either, exact/);
  });

  test("--data with --group-by adds a row per value of a record field, --without a row leaving values out; items or fields missing are one-line errors", () => {
    const data = join(dir, "data.jsonl");
    const rec = (id: string, relation: string) => JSON.stringify({ id, data_source: "synth_lookup", category: "qa", context: "c", question: "q?", answer: "Oslo", meta: { relation } });
    writeFileSync(data, [rec("x", "mayor"), rec("y", "birthYear"), rec("z", "mayor"), rec("w", "mayor")].join("\n") + "\n");
    let json = "";
    runCompare({ a, b, data, groupBy: "meta.relation", json: true }, { write: (s: string) => (json += s) });
    const rows = JSON.parse(json) as Array<{ label: string; items: number; diff: number }>;
    // d = 0.5 (x), 0 (y), -0.5 (z), 0.5 (w): mayor holds x, z and w.
    expect(rows.map((r) => [r.label, r.items, r.diff])).toEqual([["meta.relation=birthYear", 1, 0], ["meta.relation=mayor", 3, 0.5 / 3], ["all", 4, 0.125]]);
    json = "";
    runCompare({ a, b, data, groupBy: "meta.relation", without: "birthYear", json: true }, { write: (s: string) => (json += s) });
    const less = (JSON.parse(json) as Array<{ label: string; items: number; diff: number }>).at(-2)!;
    expect([less.label, less.items, less.diff]).toEqual(["all without meta.relation=birthYear", 3, 0.5 / 3]);
    expect(() => runCompare({ a, b, data, groupBy: "meta.relation", without: "birthyear", json: false })).toThrow(/--without 'birthyear' is no value of meta\.relation in these evals; give some of birthYear, mayor/);
    expect(() => runCompare({ a, b, without: "birthYear", json: false })).toThrow(/--without needs --group-by FIELD/);
    expect(() => runCompare({ a, b, data, groupBy: "meta.relation", without: " , ", json: false })).toThrow(/--without: give one or more values/);
    let text = "";
    runCompare({ a, b, data, groupBy: "category", json: false }, { write: (s: string) => (text += s) });
    expect(text).toMatch(/^category=qa\s+4\s/m);
    expect(() => runCompare({ a, b, data, groupBy: "meta.hops", json: false })).toThrow(/data\.jsonl: record x has no field 'meta\.hops'; give --group-by a field every record has/);
    expect(() => runCompare({ a, b, groupBy: "meta.relation", json: false })).toThrow(/--group-by needs --data F\.jsonl/);
    expect(() => runCompare({ a, b, data, json: false })).toThrow(/--data needs --group-by FIELD/);
    writeFileSync(data, [rec("x", "mayor"), rec("y", "birthYear")].join("\n") + "\n");
    expect(() => runCompare({ a, b, data, groupBy: "meta.relation", json: false })).toThrow(/item synth_lookup\/z is not in .*data\.jsonl; give --data the file the evals were run on/);
  });

  test("files that do not pair up, or are not eval files, are one-line errors naming the place", () => {
    const short = evalFile(dir, "short.jsonl", [{ id: "x", tokens: 100, hybrid: [1] }]);
    expect(() => compareEvals(readEvalItems(a), readEvalItems(short))).toThrow(/item synth_lookup\/y is in the first eval and not in the second/);
    expect(() => compareEvals(readEvalItems(short), readEvalItems(a))).toThrow(/is in the second eval and not in the first/);
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, `${JSON.stringify({ id: "x", data_source: "s", prompt_tokens: 5, hybrid: 1 })}\n{"id": "x", "data_source": "s", "prompt_tokens": 5}\n`);
    expect(() => readEvalItems(bad)).toThrow(/bad\.jsonl:2: "hybrid" must be a finite number/);
    writeFileSync(bad, "not json\n");
    expect(() => readEvalItems(bad)).toThrow(/bad\.jsonl:1: not a JSON line/);
    expect(() => readEvalItems(join(dir, "missing.jsonl"))).toThrow(/missing\.jsonl: cannot read the eval file/);
    expect(() => parseBuckets("384,256")).toThrow(/--buckets: '256' is not an increasing/);
    expect(parseBuckets("256, 384,512")).toEqual([256, 384, 512]);
  });
});
