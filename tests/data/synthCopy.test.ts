// The pretraining stage's copy lists: deterministic, lists of the configured length drawn from the synthetic
// world's vocabulary, the gold reasoning equal to the document, and different lists for different seeds; and the
// recitations mixed in with them.
import { expect, test } from "bun:test";
import { buildPrompt, goldResponse } from "../../src/data/prompt.ts";
import { COPY_QUESTION, generateCopyRecords, generateRecitations, passagesOf, RECITE_QUESTION } from "../../src/data/synthCopy.ts";
import { loadBaseTokenizer } from "../../src/tokenizer/index.ts";
import { CITIES, COMPANY_KINDS, COMPANY_STEMS, FIRST_NAMES, LAST_NAMES, PROFESSIONS } from "../../src/data/synthVocab.ts";

test("copy lists: deterministic, 6-16 known items, the response repeats the document", () => {
  const a = generateCopyRecords({ n: 200, minItems: 6, maxItems: 16, seed: 4 });
  expect(generateCopyRecords({ n: 200, minItems: 6, maxItems: 16, seed: 4 })).toEqual(a);
  expect(generateCopyRecords({ n: 200, minItems: 6, maxItems: 16, seed: 5 }).map((r) => r.context)).not.toEqual(a.map((r) => r.context));
  const known = new Set<string>([...CITIES, ...PROFESSIONS]);
  for (const f of FIRST_NAMES) for (const l of LAST_NAMES) known.add(`${f} ${l}`);
  for (const s of COMPANY_STEMS) for (const k of COMPANY_KINDS) known.add(`${s} ${k}`);
  const lengths = new Set<number>();
  for (const r of a) {
    const items = r.context.split(", ");
    lengths.add(items.length);
    for (const it of items) expect(known.has(it) || (/^\d{4}$/.test(it) && +it >= 1900 && +it < 2025)).toBe(true);
    expect(r.reasoning).toBe(r.context);
    expect(r.question).toBe(COPY_QUESTION);
    expect(r.answer).toBe(items.at(-1)!);
    expect(buildPrompt(r)).toContain(r.context);
    expect(goldResponse(r)).toContain(`\n${r.context}\n</think>`);
  }
  expect(Math.min(...lengths)).toBe(6);
  expect(Math.max(...lengths)).toBe(16);
  expect(new Set(a.map((r) => r.context)).size).toBe(200);
});

test("recitations: deterministic, each line a passage of the document with its number, shuffled, lengths in range", () => {
  const tok = loadBaseTokenizer("cl100k_base");
  const o = { n: 60, minTokens: 64, maxTokens: 300, lines: 4, seed: 1003, tokenizer: "cl100k_base" };
  const a = generateRecitations(o, tok);
  expect(generateRecitations(o, tok)).toEqual(a);
  expect(generateRecitations({ ...o, seed: 1004 }, tok).map((r) => r.context)).not.toEqual(a.map((r) => r.context));
  let unordered = 0;
  for (const r of a) {
    const passages = passagesOf(r.context);
    expect(passages.length).toBeGreaterThan(1);
    expect(passages.map((p) => p.n)).toEqual(passages.map((_, i) => i + 1));
    const lines = r.reasoning!.split("\n");
    expect(lines.length).toBe(Math.min(4, passages.length));
    const nums = lines.map((line) => {
      const m = /^(.*) \(Passage (\d+)\)$/.exec(line)!;
      expect(m).not.toBeNull();
      expect(passages[Number(m[2]) - 1]!.text).toBe(m[1]!);
      return Number(m[2]);
    });
    expect(new Set(nums).size).toBe(nums.length);
    if (nums.some((n, i) => i > 0 && n < nums[i - 1]!)) unordered++;
    expect(r.question).toBe(RECITE_QUESTION);
    expect(r.answer).toBe(`Passage ${nums.at(-1)}`);
    const promptTokens = tok.encode(buildPrompt(r)).length;
    expect(promptTokens).toBeGreaterThanOrEqual(o.minTokens - 10); // the question differs from the lookup's it was measured with
    expect(promptTokens).toBeLessThanOrEqual(o.maxTokens + 10);
  }
  expect(unordered).toBeGreaterThan(a.length / 2);
});

test("copy lists with digitShare: that fraction are 3-digit groups without separators, the rest the same lists as without", () => {
  const o = { n: 400, minItems: 6, maxItems: 16, seed: 4 };
  const plain = generateCopyRecords(o);
  expect(generateCopyRecords({ ...o, digitShare: 0 })).toEqual(plain);
  const mixed = generateCopyRecords({ ...o, digitShare: 0.5 });
  expect(generateCopyRecords({ ...o, digitShare: 0.5 })).toEqual(mixed);
  const digits = mixed.filter((r) => r.dataSource === "synth_copy_digits");
  expect(digits.length).toBeGreaterThan(160);
  expect(digits.length).toBeLessThan(240);
  const tok = loadBaseTokenizer("cl100k_base");
  const counts = new Set<number>();
  for (const r of digits) {
    expect(r.context).toMatch(/^(\d{3})+$/);
    expect(r.reasoning).toBe(r.context);
    expect(r.answer).toBe(r.context.slice(-3));
    const ids = tok.encode(r.context);
    expect(ids.length).toBe(r.context.length / 3); // one token per group
    counts.add(ids.length);
  }
  expect(Math.min(...counts)).toBe(6);
  expect(Math.max(...counts)).toBe(16);
  mixed.forEach((r, i) => {
    if (r.dataSource !== "synth_copy_digits") expect(r).toEqual(plain[i]!);
  });
});
