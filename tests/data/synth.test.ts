// Synthetic generator: same seed → same bytes; prompt lengths inside the range; every gold answer is
// verifiable by its own verifier from the gold reasoning; cited passages hold the facts; evidence is spread out.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSynth } from "../../src/commands/data.ts";
import { formatRecords, loadRecords } from "../../src/data/load.ts";
import { buildPrompt, CHOICE_LETTERS, goldResponse } from "../../src/data/prompt.ts";
import type { DocRecord } from "../../src/data/record.ts";
import { DEFAULT_SYNTH, generateRecords, parseKinds, parseReasoning, type SynthOptions } from "../../src/data/synth.ts";
import { RELATIONS } from "../../src/data/synthWorld.ts";
import { CITIES, COMPANY_KINDS, COMPANY_STEMS, FIRST_NAMES, LAST_NAMES, PROFESSIONS } from "../../src/data/synthVocab.ts";
import { ruleScore } from "../../src/reward/verify.ts";
import { loadTokenizer } from "../../src/tokenizer/index.ts";

const tok = loadTokenizer("cl100k_base");
const opts = (over: Partial<SynthOptions>): SynthOptions => ({ ...DEFAULT_SYNTH, ...over });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("determinism", () => {
  test("same seed → byte-identical file; another seed → another file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "longrl-synth-"));
    dirs.push(dir);
    const args = { n: 12, minTokens: 300, maxTokens: 900, seed: 11, categories: "lookup,multihop,docmath,choice", tokenizer: "cl100k_base" };
    const quiet = { write: () => true };
    await runSynth({ ...args, out: join(dir, "a.jsonl") }, quiet);
    await runSynth({ ...args, out: join(dir, "b.jsonl") }, quiet);
    await runSynth({ ...args, seed: 12, out: join(dir, "c.jsonl") }, quiet);
    const a = readFileSync(join(dir, "a.jsonl"));
    expect(a.length).toBeGreaterThan(1000);
    expect(a.equals(readFileSync(join(dir, "b.jsonl")))).toBe(true);
    expect(a.equals(readFileSync(join(dir, "c.jsonl")))).toBe(false);
    // and the file loads back through validation
    expect(loadRecords(join(dir, "a.jsonl")).records.length).toBe(12);
  });

  test("record i does not depend on --n", () => {
    const few = generateRecords(opts({ n: 3, seed: 5 }), tok);
    const more = generateRecords(opts({ n: 7, seed: 5 }), tok);
    expect(formatRecords(more.slice(0, 3))).toBe(formatRecords(few));
  });
});

function checkRecord(r: DocRecord, min: number, max: number, tokName = "cl100k_base"): void {
  const where = `${r.id} (${r.dataSource})`;
  const t = loadTokenizer(tokName).count(buildPrompt(r));
  if (t < min || t > max) throw new Error(`${where}: ${t} prompt tokens, outside [${min}, ${max}]`);
  if (r.promptTokens !== t) throw new Error(`${where}: cached promptTokens ${r.promptTokens} != ${t}`);
  const good = ruleScore(r.category, goldResponse(r), r.answer, true);
  if (good.score !== 1) throw new Error(`${where}: gold response scores ${good.score} (pred ${good.pred}, answer ${r.answer})`);
  const wrong =
    r.category === "choice" ? CHOICE_LETTERS.find((l) => l !== r.answer)!
    : r.category === "math" ? String(Number(r.answer) + 1000.5)
    : "Nobody Inparticular";
  const bad = ruleScore(r.category, goldResponse({ ...r, answer: wrong }), r.answer, true);
  if (bad.score !== 0) throw new Error(`${where}: a wrong answer ${wrong} scores ${bad.score}`);
  // The cited passages exist and say what the reasoning quotes.
  const lines = new Map(r.context.split("\n").map((l) => [Number(/^Passage (\d+): /.exec(l)![1]), l.replace(/^Passage \d+: /, "")]));
  // "cite" style: `Passage N says: S`; "quote" style: the question restated, then `S (Passage N)`.
  const quoted = r.reasoning!.startsWith("The question asks for ") || / \(Passage \d+\)$/m.test(r.reasoning!);
  const cited = quoted
    ? [...r.reasoning!.matchAll(/^(.*) \(Passage (\d+)\)$/gm)].map(([all, sentence, n]) => [all, n, sentence] as const)
    : [...r.reasoning!.matchAll(/Passage (\d+) says: (.*)/g)];
  expect(cited.length).toBe((r.meta!.evidence as number[]).length);
  for (const [, n, sentence] of cited) {
    if (lines.get(Number(n)) !== sentence) throw new Error(`${where}: passage ${n} is ${JSON.stringify(lines.get(Number(n)))}, reasoning cites ${JSON.stringify(sentence)}`);
  }
  const shown = r.category === "choice" ? r.choices![CHOICE_LETTERS.indexOf(r.answer as "A")]! : r.answer;
  if (r.category === "math") {
    // Recompute the answer from the cited values and the question's template.
    const value = new Map(cited.map(([, , s]) => [Number(/^In (\d+),/.exec(s!)![1]), Number(/of (\d+) million/.exec(s!)![1])]));
    const years = [...r.question.matchAll(/\b(20\d\d)\b/g)].map((m) => Number(m[1]));
    const [a, b] = years.map((y) => value.get(y)!);
    const want = r.question.startsWith("What is the total") ? a! + b!
      : r.question.startsWith("How much larger") ? a! - b!
      : r.question.startsWith("What is the ratio") ? Math.round((a! / b!) * 100) / 100
      : Math.round(((b! - a!) / a!) * 10000) / 100;
    if (Number(r.answer) !== want) throw new Error(`${where}: answer ${r.answer}, recomputed ${want} for ${r.question}`);
  } else {
    // The chain starts at the question's entity and its last cited fact states the answer.
    if (!cited[cited.length - 1]![2]!.includes(shown)) throw new Error(`${where}: the last cited passage does not state ${shown}`);
    if (!r.context.includes(shown)) throw new Error(`${where}: answer ${shown} is not in the document`);
  }
}

describe("lengths and answers", () => {
  for (const [min, max] of [[200, 400], [1000, 1500], [4000, 6000]] as const) {
    test(`prompt tokens in [${min}, ${max}], answers verifiable`, () => {
      const recs = generateRecords(opts({ n: 12, minTokens: min, maxTokens: max, seed: min }), tok);
      for (const r of recs) checkRecord(r, min, max);
      expect(new Set(recs.map((r) => r.dataSource))).toEqual(new Set(["synth_lookup", "synth_multihop", "synth_docmath", "synth_choice"]));
    });
  }

  test("another tokenizer measures its own tokens", () => {
    const o200 = loadTokenizer("o200k_base");
    for (const r of generateRecords(opts({ n: 4, minTokens: 500, maxTokens: 700, seed: 2, tokenizer: "o200k_base" }), o200)) {
      checkRecord(r, 500, 700, "o200k_base");
    }
  });

  test("long documents stay in range and are quick to make", () => {
    const t0 = performance.now();
    const recs = generateRecords(opts({ n: 2, minTokens: 30000, maxTokens: 32000, seed: 9, kinds: ["multihop", "docmath"] }), tok);
    expect(performance.now() - t0).toBeLessThan(5000);
    for (const r of recs) checkRecord(r, 30000, 32000);
  });

  test("many seeds: lookup, multihop, docmath, choice are all sound", () => {
    const recs = generateRecords(opts({ n: 60, minTokens: 150, maxTokens: 600, seed: 77 }), tok);
    for (const r of recs) checkRecord(r, 150, 600);
    const hops = new Set(recs.filter((r) => r.dataSource === "synth_multihop").map((r) => r.meta!.hops));
    expect(hops).toEqual(new Set([2, 3, 4]));
    // meta.relation names what is asked: one relation per hop, its nouns in the question; docmath's arithmetic.
    const nouns = new Map(RELATIONS.map((r) => [r.name, r.noun]));
    for (const r of recs) {
      const rel = r.meta!.relation as string;
      if (r.dataSource === "synth_docmath") {
        expect(["sum", "difference", "ratio", "percent"]).toContain(rel);
        continue;
      }
      const names = rel.split(">");
      expect(names.length).toBe(r.meta!.hops as number);
      expect(r.question).toStartWith(`What is ${[...names].reverse().map((n) => `the ${nouns.get(n)!} of `).join("")}`);
    }
    expect(new Set(recs.filter((r) => r.dataSource === "synth_lookup").map((r) => r.meta!.relation)).size).toBeGreaterThan(4);
  });

  test("reasoning style quote: the question restated, then each evidence sentence with its passage after it", () => {
    const recs = generateRecords(opts({ n: 24, minTokens: 150, maxTokens: 600, seed: 77, reasoning: "quote" }), tok);
    const cited = generateRecords(opts({ n: 24, minTokens: 150, maxTokens: 600, seed: 77 }), tok);
    recs.forEach((r, i) => {
      checkRecord(r, 150, 600);
      expect({ ...r, reasoning: "" }).toEqual({ ...cited[i]!, reasoning: "" }); // only the reasoning differs
      if (r.dataSource !== "synth_docmath") expect(r.reasoning!.split("\n")[0]).toBe(`The question asks for ${r.question.replace(/^What is (.*)\?$/, "$1")}.`);
      expect(r.reasoning).not.toContain("says:");
    });
    expect(() => parseReasoning("verbose")).toThrow("--reasoning verbose is not one of cite, quote");
  });

  test("evidence passages are far apart", () => {
    for (const r of generateRecords(opts({ n: 16, minTokens: 2500, maxTokens: 3000, seed: 4, kinds: ["multihop", "docmath"] }), tok)) {
      const ev = (r.meta!.evidence as number[]).slice().sort((a, b) => a - b);
      const m = r.meta!.passages as number;
      const gap = Math.floor(m / (2 * ev.length)) - 1;
      for (let i = 1; i < ev.length; i++) {
        if (ev[i]! - ev[i - 1]! < gap) throw new Error(`${r.id}: evidence ${ev.join(",")} of ${m} passages closer than ${gap}`);
      }
    }
  });
});

describe("vocabulary and options", () => {
  test("no name contains another, so sub-EM cannot confuse two entities", () => {
    const names = [...FIRST_NAMES, ...LAST_NAMES, ...COMPANY_STEMS, ...COMPANY_KINDS, ...CITIES, ...PROFESSIONS].map((s) => s.toLowerCase());
    expect(new Set(names).size).toBe(names.length);
    for (const a of names) for (const b of names) if (a !== b && b.includes(a)) throw new Error(`'${b}' contains '${a}'`);
    for (const a of names) if (["a", "an", "the"].includes(a)) throw new Error(`'${a}' is an article`);
  });

  test("--categories accepts kinds and qa/math, and names the bad one", () => {
    expect(parseKinds("qa,math")).toEqual(["lookup", "multihop", "docmath"]);
    expect(parseKinds("choice, lookup,choice")).toEqual(["choice", "lookup"]);
    expect(() => parseKinds("lookup,trivia")).toThrow(/'trivia' is not a kind/);
  });

  test("impossible ranges are usage errors that say what to change", () => {
    expect(() => generateRecords(opts({ n: 1, minTokens: 10, maxTokens: 20 }), tok)).toThrow(/raise --max-tokens/);
    expect(() => generateRecords(opts({ n: 1, minTokens: 500, maxTokens: 400 }), tok)).toThrow(/--max-tokens 400 must be/);
    expect(() => generateRecords(opts({ n: 0 }), tok)).toThrow(/--n 0/);
  });
});
