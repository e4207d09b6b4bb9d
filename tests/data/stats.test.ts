// `data stats`: phase boundaries (L(k-1) < t <= L(k)), counts, histogram; the data/verify commands under yargs.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yargs from "yargs";
import { dataCommand } from "../../src/commands/data.ts";
import { verifyCommand } from "../../src/commands/verify.ts";
import type { DocRecord } from "../../src/data/record.ts";
import { computeStats, formatStats, parsePhases, phaseOf } from "../../src/data/stats.ts";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizer/index.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("phases", () => {
  test("phase k holds L(k-1) < tokens <= L(k); beyond the last is over", () => {
    const L = [2000, 8000];
    expect(phaseOf(1, L)).toBe(1);
    expect(phaseOf(2000, L)).toBe(1);
    expect(phaseOf(2001, L)).toBe(2);
    expect(phaseOf(8000, L)).toBe(2);
    expect(phaseOf(8001, L)).toBe("over");
  });

  test("--phases must be increasing positive integers", () => {
    expect(parsePhases("2000, 8000")).toEqual([2000, 8000]);
    expect(() => parsePhases("8000,2000")).toThrow(/must increase/);
    expect(() => parsePhases("2k")).toThrow(/'2k' is not a positive integer/);
    expect(() => parsePhases("")).toThrow(/empty/);
  });
});

describe("computeStats", () => {
  // A tokenizer stand-in that counts characters, so lengths are exact and easy to state.
  const chars: Tokenizer = { name: "chars", encode: (t) => [...t].map((c) => c.codePointAt(0)!), decode: () => "", count: (t) => t.length };
  const rec = (id: string, dataSource: string, category: DocRecord["category"], len: number): DocRecord => ({
    id, dataSource, category, context: "", question: "", answer: "x", prompt: "p".repeat(len),
  });
  const records = [rec("a", "musique", "qa", 10), rec("b", "musique", "qa", 20), rec("c", "docmath", "math", 20), rec("d", "synth_choice", "choice", 95)];

  test("counts, token summary, histogram and phases", () => {
    const s = computeStats(records, chars, [20, 50]);
    expect(s.bySource).toEqual({ musique: 2, docmath: 1, synth_choice: 1 });
    expect(s.byCategory).toEqual({ qa: 2, math: 1, choice: 1 });
    expect(s.tokens).toEqual({ min: 10, max: 95, mean: 36.25, median: 20 });
    expect(s.histogram.reduce((n, b) => n + b.count, 0)).toBe(4);
    for (const b of s.histogram) expect(b.hi).toBeGreaterThanOrEqual(b.lo);
    expect(s.phases.map((p) => [p.phase, p.count])).toEqual([[1, 3], [2, 0], ["over", 1]]);
    expect(s.perRecord.map((p) => p.phase)).toEqual([1, 1, 1, "over"]);
    const text = formatStats(s, "f.jsonl");
    expect(text).toContain("f.jsonl: 4 records");
    expect(text).toMatch(/phase 1 {2}0 < t <= 20 +3/);
    expect(text).toMatch(/over {5}> 50 +1/);
  });
});

describe("commands under yargs", () => {
  async function run(argv: string[]): Promise<{ out: string; err: string }> {
    let out = "";
    let err = "";
    const w1 = process.stdout.write;
    const w2 = process.stderr.write;
    process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
    process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
    try {
      await yargs(argv).command(verifyCommand).command(dataCommand).strict().exitProcess(false).fail((m, e) => {
        throw e ?? new Error(m);
      }).parseAsync();
    } finally {
      process.stdout.write = w1;
      process.stderr.write = w2;
    }
    return { out, err };
  }

  test("data synth then data stats --json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "longrl-stats-"));
    dirs.push(dir);
    const f = join(dir, "s.jsonl");
    const synth = await run(["data", "synth", "--out", f, "--n", "6", "--min-tokens", "300", "--max-tokens", "700", "--seed", "1", "--categories", "qa,choice"]);
    expect(existsSync(f)).toBe(true);
    expect(synth.err).toContain("wrote 6 records");
    const stats = await run(["data", "stats", f, "--phases", "500,600", "--json"]);
    const j = JSON.parse(stats.out);
    expect(j.records).toBe(6);
    expect(j.byCategory).toEqual({ qa: 4, choice: 2 });
    expect(j.perRecord.length).toBe(6);
    const tok = loadTokenizer("cl100k_base");
    expect(j.tokenizer).toBe(tok.name);
    for (const p of j.perRecord) expect(p.phase).toBe(p.promptTokens <= 500 ? 1 : p.promptTokens <= 600 ? 2 : "over");
  });

  test("flags are checked", async () => {
    await expect(run(["data", "stats", "/nonexistent.jsonl"])).rejects.toThrow(/no such file/);
    await expect(run(["data", "synth", "--n", "2"])).rejects.toThrow(/out/);
    await expect(run(["verify", "--input", "x.jsonl", "--judge", "gpt"])).rejects.toThrow(/judge/);
  });
});
