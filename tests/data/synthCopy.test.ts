// The pretraining stage's copy lists: deterministic, lists of the configured length drawn from the synthetic
// world's vocabulary, the gold reasoning equal to the document, and different lists for different seeds.
import { expect, test } from "bun:test";
import { buildPrompt, goldResponse } from "../../src/data/prompt.ts";
import { COPY_QUESTION, generateCopyRecords } from "../../src/data/synthCopy.ts";
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
