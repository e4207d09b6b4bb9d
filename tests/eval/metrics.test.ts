// Evaluation math: pass@k against the binomial formula, middle truncation, grouping and the renderings.
import { describe, expect, test } from "bun:test";
import {
  aggregateEval, bucketLabels, bucketOf, evalTableMarkdown, formatEvalTable, middleTruncate, passAtK, type EvalSample,
} from "../../src/eval/metrics.ts";

/** C(n, k) with exact integers, the definition the product form must match. */
function binom(n: number, k: number): bigint {
  if (k < 0 || k > n) return 0n;
  let r = 1n;
  for (let i = 0; i < k; i++) r = (r * BigInt(n - i)) / BigInt(i + 1);
  return r;
}

describe("passAtK", () => {
  test("matches 1 - C(n-c,k)/C(n,k) on a grid", () => {
    for (const n of [1, 2, 5, 8, 13]) {
      for (let c = 0; c <= n; c++) {
        for (let k = 1; k <= n; k++) {
          const want = 1 - Number(binom(n - c, k)) / Number(binom(n, k));
          const got = passAtK(n, c, k);
          if (Math.abs(got - want) > 1e-12) throw new Error(`passAtK(${n},${c},${k}): got ${got} want ${want}`);
        }
      }
    }
  });

  test("edge values: pass@1 is c/n, no correct is 0, n-c < k is 1", () => {
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3, 12);
    expect(passAtK(10, 0, 5)).toBe(0);
    expect(passAtK(10, 6, 5)).toBe(1);
  });

  test("stays finite for large n (no factorials)", () => {
    const p = passAtK(1000, 10, 100);
    expect(Number.isFinite(p)).toBe(true);
    expect(p).toBeGreaterThan(0.6);
    expect(p).toBeLessThan(0.7);
  });

  test("k > n and bad arguments are errors", () => {
    expect(() => passAtK(4, 1, 8)).toThrow(/only 4 samples/);
    expect(() => passAtK(4, 5, 1)).toThrow(/0 <= c <= n/);
    expect(() => passAtK(4, 1, 0)).toThrow(/k >= 1/);
  });
});

describe("middleTruncate", () => {
  const ids = Array.from({ length: 10 }, (_, i) => i);
  test("short input is returned whole (a copy)", () => {
    const out = middleTruncate(ids, 10);
    expect(out).toEqual(ids);
    expect(out).not.toBe(ids);
  });
  test("keeps first floor(max/2) and last max - floor(max/2)", () => {
    expect(middleTruncate(ids, 4)).toEqual([0, 1, 8, 9]);
    expect(middleTruncate(ids, 5)).toEqual([0, 1, 7, 8, 9]);
    expect(middleTruncate(ids, 1)).toEqual([9]);
  });
  test("max must be a positive integer", () => {
    expect(() => middleTruncate(ids, 0)).toThrow(/positive integer/);
  });
});

function sample(id: string, dataSource: string, promptTokens: number, hybrid: number, extra: Partial<EvalSample> = {}): EvalSample {
  return { id, dataSource, promptTokens, rule: hybrid, judge: null, hybrid, em: hybrid, f1: hybrid, responseTokens: 100, ...extra };
}

describe("aggregateEval", () => {
  test("bucket labels and membership (edges inclusive)", () => {
    expect(bucketLabels([1024, 2048, 4096])).toEqual(["≤1024", "1025–2048", "2049–4096", ">4096"]);
    expect(bucketOf(1024, [1024, 2048])).toBe(0);
    expect(bucketOf(1025, [1024, 2048])).toBe(1);
    expect(bucketOf(9999, [1024, 2048])).toBe(2);
  });

  const samples: EvalSample[] = [
    // musique item a (short): 1 of 2 correct; the judge was asked on the wrong one and said no
    sample("a", "musique", 500, 1, { rule: 1, em: 1, f1: 1, responseTokens: 50 }),
    sample("a", "musique", 500, 0, { rule: 0, judge: 0, em: 0, f1: 0.5, responseTokens: 150, overlong: true }),
    // docmath item a (long, same id, other source): judge turned rule 0 into hybrid 1 on one sample
    sample("a", "docmath", 3000, 1, { rule: 0, judge: 1, em: 0, f1: 0 }),
    sample("a", "docmath", 3000, 1, { rule: 1 }),
  ];

  test("rows per data_source, per bucket, then all; means over samples; pass@k over items", () => {
    const t = aggregateEval(samples, { bucketEdges: [1024, 2048], ks: [1, 2] });
    expect(t.rows.map((r) => `${r.kind}:${r.label}`)).toEqual(["source:docmath", "source:musique", "length:≤1024", "length:>2048", "all:all"]);
    const all = t.rows[4]!;
    expect(all.items).toBe(2);
    expect(all.samples).toBe(4);
    expect(all.rule).toBeCloseTo(0.5, 12);
    expect(all.judge).toBeCloseTo(0.5, 12); // two judged samples: 0 and 1
    expect(all.hybrid).toBeCloseTo(0.75, 12);
    expect(all.f1).toBeCloseTo((1 + 0.5 + 0 + 1) / 4, 12);
    expect(all.passAtK[0]).toBeCloseTo((0.5 + 1) / 2, 12);
    expect(all.passAtK[1]).toBeCloseTo((1 + 1) / 2, 12);
    expect(all.responseTokens).toBeCloseTo((50 + 150 + 100 + 100) / 4, 12);
    expect(all.overlong).toBeCloseTo(0.25, 12);
    const musique = t.rows[1]!;
    expect(musique.items).toBe(1);
    expect(musique.hybrid).toBeCloseTo(0.5, 12);
  });

  test("judge is null when never asked; pass@k is null when an item has fewer than k samples", () => {
    const t = aggregateEval([sample("x", "hotpotqa", 10, 1), sample("y", "hotpotqa", 10, 0), sample("y", "hotpotqa", 10, 1)], { ks: [1, 2] });
    const all = t.rows[t.rows.length - 1]!;
    expect(all.judge).toBeNull();
    expect(all.passAtK[0]).toBeCloseTo((1 + 0.5) / 2, 12);
    expect(all.passAtK[1]).toBeNull();
  });

  test("bad edges, bad k and non-finite scores are errors naming the place", () => {
    expect(() => aggregateEval(samples, { bucketEdges: [2048, 1024] })).toThrow(/increasing/);
    expect(() => aggregateEval(samples, { ks: [0] })).toThrow(/positive integer/);
    expect(() => aggregateEval([sample("z", "musique", 1, Number.NaN, { rule: 0, em: 0, f1: 0 })], {})).toThrow(/musique\/z: hybrid is NaN/);
  });

  test("empty input gives one empty 'all' row", () => {
    const t = aggregateEval([], { ks: [1] });
    expect(t.rows).toHaveLength(1);
    expect(t.rows[0]!.samples).toBe(0);
    expect(t.rows[0]!.passAtK[0]).toBeNull();
  });
});

describe("renderings", () => {
  const t = aggregateEval(
    [sample("a", "musique", 500, 1), sample("a", "musique", 500, 0, { judge: 0 }), sample("b", "docmath|x", 5000, 1)],
    { bucketEdges: [1024], ks: [1, 2] },
  );

  test("terminal table: aligned columns, percentages, '-' for missing", () => {
    const text = formatEvalTable(t, "eval after SFT");
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("eval after SFT");
    expect(lines[1]).toContain("pass@2 %");
    expect(text).toContain("len ≤1024");
    expect(text).toContain("len >1024");
    const all = lines[lines.length - 1]!;
    expect(all.startsWith("all")).toBe(true);
    expect(all).toContain("66.7"); // hybrid 2/3
    expect(lines[lines.length - 2]!).toMatch(/^-+/); // rule above "all"
    // every data line has the header's width (right-aligned numbers)
    expect(new Set(lines.slice(1).map((l) => l.length)).size).toBe(1);
  });

  test("markdown table: header, alignment row, one line per row, pipes escaped", () => {
    const md = evalTableMarkdown(t, "after SFT");
    const lines = md.trimEnd().split("\n");
    expect(lines[0]).toBe("### after SFT");
    expect(lines[2]!.startsWith("| group | items | samples |")).toBe(true);
    expect(lines[3]).toMatch(/^\| --- \| ---: \|/);
    expect(lines).toHaveLength(4 + t.rows.length);
    expect(md).toContain("docmath\\|x");
  });
});
