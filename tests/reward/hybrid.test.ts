// Overlong shaping (DAPO) and the reported parts of the hybrid reward; `longrl verify` end to end.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runVerify, type VerifyArgs } from "../../src/commands/verify.ts";
import { DEFAULT_JUDGE, DEFAULT_REWARD } from "../../src/reward/config.ts";
import { computeRewards, overlongPenalty } from "../../src/reward/hybrid.ts";
import { LongrlError } from "../../src/util/errors.ts";

describe("overlong shaping", () => {
  const o = { enable: true, maxResponseTokens: 100, bufferTokens: 20, factor: 1 };
  test("0 up to L - B, then linear down to -factor at L", () => {
    expect(overlongPenalty(50, o)).toBe(0);
    expect(overlongPenalty(80, o)).toBe(0);
    expect(overlongPenalty(81, o)).toBeCloseTo(-0.05, 12);
    expect(overlongPenalty(90, o)).toBeCloseTo(-0.5, 12);
    expect(overlongPenalty(100, o)).toBeCloseTo(-1, 12);
    expect(overlongPenalty(100, { ...o, factor: 0.5 })).toBeCloseTo(-0.5, 12);
    expect(overlongPenalty(100, { ...o, enable: false })).toBe(0);
  });

  test("the penalty is reported apart from rule and hybrid; acc ignores it", async () => {
    const opts = { ...DEFAULT_REWARD, overlong: o };
    const { results, stats } = await computeRewards(
      [
        { response: "<think>r</think>Therefore, the answer is 7.", groundTruth: "7", dataSource: "docmath", responseTokens: 90 },
        { response: "<think>r</think>Therefore, the answer is 7.", groundTruth: "7", dataSource: "docmath", responseTokens: 10 },
      ],
      opts,
      null,
    );
    expect(results[0]).toMatchObject({ rule: 1, judge: null, hybrid: 1, acc: true, category: "math" });
    expect(results[0]!.penalty).toBeCloseTo(-0.5, 12);
    expect(results[0]!.score).toBeCloseTo(0.5, 12);
    expect(results[1]!.score).toBe(1);
    expect(stats.overlong).toBe(1);
    expect(stats.penaltyMean).toBeCloseTo(-0.25, 12);
  });
});

describe("longrl verify", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const file = (lines: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), "longrl-verify-"));
    dirs.push(dir);
    const p = join(dir, "pred.jsonl");
    writeFileSync(p, `${lines.join("\n")}\n`);
    return p;
  };
  const args = (input: string, over: Partial<VerifyArgs> = {}): VerifyArgs => ({
    input,
    judge: "none",
    judgeUrl: DEFAULT_JUDGE.baseUrl,
    judgeModel: "",
    judgeApiKeyEnv: DEFAULT_JUDGE.apiKeyEnv,
    judgeTimeoutMs: 1000,
    judgeRetries: 0,
    judgeConcurrency: 2,
    judgeCache: "",
    requireThink: true,
    json: false,
    ...over,
  });
  const capture = () => {
    let text = "";
    return { write: (s: string) => (text += s), get text() { return text; } };
  };

  test("one JSON line per input, in order, then a summary on stderr", async () => {
    const p = file([
      JSON.stringify({ output: "<think>x</think>Therefore, the answer is **Paris**.", ground_truth: "Paris", data_source: "musique", id: 7 }),
      JSON.stringify({ output: "<think>x</think>Therefore, the answer is 25%.", ground_truth: 0.25, data_source: "docmath_qa" }),
      JSON.stringify({ output: "The correct answer is (B).", ground_truth: "B", data_source: "x", category: "choice" }),
    ]);
    const out = capture();
    const err = capture();
    await runVerify(args(p), out, err);
    const lines = out.text.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { score: 1, acc: true, pred: "Paris", em: 1, f1: 1 },
      { score: 1, acc: true, pred: "25", em: null, f1: null },
      { score: 0, acc: false, pred: null, em: null, f1: null },
    ]);
    expect(err.text).toContain("verify: 3 predictions");
    const jerr = capture();
    await runVerify(args(p, { json: true, requireThink: false }), capture(), jerr);
    expect(JSON.parse(jerr.text)).toMatchObject({ n: 3, acc: 1, judge: null });
  });

  test("a malformed line is FILE:LINE and exit code 2", async () => {
    const cases: Array<[string, RegExp]> = [
      ["{not json", /pred\.jsonl:2: not valid JSON/],
      [JSON.stringify({ output: "x", ground_truth: "1" }), /pred\.jsonl:2: field data_source: missing/],
      [JSON.stringify({ output: "x", ground_truth: "ten", data_source: "docmath" }), /pred\.jsonl:2: field ground_truth: .*cannot be parsed as math/],
      [JSON.stringify({ output: "x", ground_truth: "A", data_source: "q", category: "mcq" }), /pred\.jsonl:2: field category/],
    ];
    for (const [bad, re] of cases) {
      const p = file([JSON.stringify({ output: "x", ground_truth: "Paris", data_source: "q" }), bad]);
      let err: unknown;
      try {
        await runVerify(args(p), capture(), capture());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(LongrlError);
      expect((err as LongrlError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(re);
    }
  });
});
