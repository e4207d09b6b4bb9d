// Record loading: both layouts, FILE:LINE: field X messages, --skip-invalid counts, ground truths checked by id;
// the prompt template text; prompt-length caching; the tokenizer.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatRecords, loadRecords } from "../../src/data/load.ts";
import { buildPrompt, goldResponse, promptTokens } from "../../src/data/prompt.ts";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizer/index.ts";
import { LongrlError } from "../../src/util/errors.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file(lines: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), "longrl-data-"));
  dirs.push(dir);
  const p = join(dir, "recs.jsonl");
  writeFileSync(p, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
  return p;
}
function loadError(p: string): LongrlError {
  try {
    loadRecords(p);
  } catch (e) {
    if (e instanceof LongrlError) return e;
    throw e;
  }
  throw new Error(`${p} loaded without error`);
}

const good = { id: "r1", data_source: "musique", category: "qa", context: "Doc.", question: "Who?", answer: "Ada" };

describe("record loading", () => {
  test("the longrl layout, with routing when category is absent", () => {
    const p = file([
      good,
      "",
      { id: 2, data_source: "docmath_qa", context: "c", question: "q", answer: 12.5, reasoning: "r" },
      { id: "r3", data_source: "x", category: "choice", context: "c", question: "q", choices: ["a", "b", "c", "d"], answer: "The correct answer is (C)." },
    ]);
    const { records, skipped } = loadRecords(p);
    expect(skipped).toBe(0);
    expect(records.map((r) => [r.id, r.category, r.answer])).toEqual([["r1", "qa", "Ada"], ["2", "math", "12.5"], ["r3", "choice", "The correct answer is (C)."]]);
    expect(records[1]!.reasoning).toBe("r");
    // round trip: written records load back the same
    const again = loadRecords(file(formatRecords(records).trim().split("\n"))).records;
    expect(again).toEqual(records);
  });

  test("QwenLong-L1's verl layout", () => {
    const content = 'Please read the following text and answer the question below.\n\n<text>\nThe doc.\n</text>\n\nHow much?\n\nFormat your response as follows: "Therefore, the answer is (insert answer here)".';
    const p = file([
      { data_source: "docmath_qa", prompt: [{ role: "user", content }], ability: "doc-math", reward_model: { ground_truth: "Therefore, the answer is 3.5.", style: "rule" }, extra_info: { index: 17, split: "train" } },
    ]);
    const r = loadRecords(p).records[0]!;
    expect(r).toMatchObject({ id: "17", dataSource: "docmath_qa", category: "math", context: "The doc.", question: "How much?", prompt: content });
    expect(buildPrompt(r)).toBe(content);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ["not JSON", "{oops", /recs\.jsonl:2: not valid JSON/],
    ["not an object", [1, 2], /recs\.jsonl:2: field \(line\)/],
    ["missing id", { ...good, id: undefined }, /recs\.jsonl:2: field id: missing/],
    ["missing answer", { ...good, id: "b", answer: undefined }, /recs\.jsonl:2: field answer: missing/],
    ["empty question", { ...good, id: "b", question: " " }, /recs\.jsonl:2: field question: must be a non-empty string/],
    ["bad category", { ...good, id: "b", category: "mcq" }, /recs\.jsonl:2: field category: "mcq" is not one of qa, math, choice/],
    ["typo'd field", { ...good, id: "b", anwser: "x" }, /recs\.jsonl:2: field anwser: not a record field; did you mean 'answer'\?/],
    ["duplicate id", good, /recs\.jsonl:2: field id: 'r1' is already used on line 1/],
    ["three choices", { ...good, id: "b", category: "choice", answer: "A", choices: ["a", "b", "c"] }, /field choices: must be a list of four/],
    ["math ground truth without a number", { ...good, id: "m7", category: "math", answer: "about ten" }, /field answer: record 'm7' \(math\): ground truth "about ten" cannot be parsed/],
    ["choice ground truth not A-D", { ...good, id: "c9", category: "choice", answer: "E" }, /record 'c9' \(choice\)/],
    ["qa ground truth empty after normalization", { ...good, id: "q3", answer: "The." }, /record 'q3' \(qa\)/],
    ["verl message role", { data_source: "musique", prompt: [{ role: "system", content: "x" }], reward_model: { ground_truth: "a b" } }, /field prompt\[0\]\.role/],
    ["verl without ground truth", { data_source: "musique", prompt: [{ role: "user", content: "x" }], reward_model: {} }, /field reward_model\.ground_truth: missing/],
  ];
  for (const [name, line, re] of bad) {
    test(`rejects: ${name}`, () => {
      const e = loadError(file([good, line]));
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(re);
    });
  }

  test("skipInvalid skips and counts bad records", () => {
    const p = file([good, { ...good, id: "x", answer: "" }, "{oops", { ...good, id: "r2" }]);
    const { records, skipped, errors } = loadRecords(p, { skipInvalid: true });
    expect(records.map((r) => r.id)).toEqual(["r1", "r2"]);
    expect(skipped).toBe(2);
    expect(errors[0]).toMatch(/recs\.jsonl:2: field answer/);
    expect(errors[1]).toMatch(/recs\.jsonl:3: not valid JSON/);
  });

  test("a missing file, a parquet file", () => {
    expect(() => loadRecords("/nonexistent/x.jsonl")).toThrow(/no such file/);
    const dir = mkdtempSync(join(tmpdir(), "longrl-data-"));
    dirs.push(dir);
    writeFileSync(join(dir, "t.parquet"), "PAR1");
    expect(() => loadRecords(join(dir, "t.parquet"))).toThrow(/convert it to JSONL/);
  });
});

describe("prompt", () => {
  test("the QwenLong-L1 template, qa/math and choice", () => {
    expect(buildPrompt({ category: "qa", context: "DOC", question: "Who?" })).toBe(
      'Please read the following text and answer the question below.\n\n<text>\nDOC\n</text>\n\nWho?\n\n' +
        'Format your response as follows: "Therefore, the answer is (insert answer here)".',
    );
    expect(buildPrompt({ category: "choice", context: "DOC", question: "Which?", choices: ["w", "x", "y", "z"] })).toBe(
      'Please read the following text and answer the question below.\n\n<text>\nDOC\n</text>\n\n' +
        "What is the correct answer to this question: Which?\nChoices:\n(A) w\n(B) x\n(C) y\n(D) z\n\n" +
        'Format your response as follows: "The correct answer is (insert answer here)".',
    );
  });

  test("prompt tokens are measured once per tokenizer and cached on the record", () => {
    const rec = { id: "a", dataSource: "s", category: "qa" as const, context: "one two three", question: "q?", answer: "x" };
    let calls = 0;
    const base = loadTokenizer("cl100k_base");
    const counting: Tokenizer = { ...base, name: base.name, count: (t) => (calls++, base.count(t)) };
    const n = promptTokens(rec, counting);
    expect(n).toBe(base.count(buildPrompt(rec)));
    expect(promptTokens(rec, counting)).toBe(n);
    expect(calls).toBe(1);
    promptTokens(rec, loadTokenizer("o200k_base"));
    expect((rec as { promptTokenizer?: string }).promptTokenizer).toBe("o200k_base");
  });

  test("gold responses use the parsed answer", () => {
    expect(goldResponse({ category: "math", answer: "Therefore, the answer is $1,200.", reasoning: "r" })).toBe(
      "<think>\nr\n</think>\n\nTherefore, the answer is 1200.",
    );
    expect(goldResponse({ category: "choice", answer: "(B)" })).toEndWith("The correct answer is (B).");
  });
});

describe("tokenizer", () => {
  test("tiktoken encodings round-trip and count; special tokens are allowed", () => {
    const tok = loadTokenizer("cl100k_base");
    const text = "Passage 12: Ada Brenn works for Borvex Steel. <|endoftext|>";
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    expect(tok.count(text)).toBe(ids.length);
    expect(ids).toContain(100257); // <|endoftext|> as one token
    expect(loadTokenizer("cl100k_base")).toBe(tok); // cached
    expect(loadTokenizer("gpt2").count("hello world")).toBe(2);
  });

  test("an unknown name lists the valid ones", () => {
    expect(() => loadTokenizer("cl100k")).toThrow(/did you mean 'cl100k_base'\?.*valid names: cl100k_base, o200k_base/);
  });
});

test("fixture sanity: files are written as one line per record", () => {
  const p = file([good]);
  expect(readFileSync(p, "utf8").trim().split("\n").length).toBe(1);
});
