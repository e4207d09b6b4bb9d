// Verifier tables: qa (sub-EM/EM/F1), math (DocMath leniency), choice, routing and the answer region.
// Each row is [name, response, ground truth, expected score]; responses carry `</think>` unless the row is about it.
import { describe, expect, test } from "bun:test";
import { answerRegion, parseGroundTruth, routeCategory, ruleScore, type Category } from "../../src/reward/verify.ts";
import { normalizeAnswer, subExactMatch, tokenF1, type QaMatch } from "../../src/reward/qa.ts";
import { numbersMatch } from "../../src/reward/math.ts";

const T = "<think>reasoning</think>\n\n";
type Row = [name: string, response: string, gt: string, score: number];

function table(category: Category, rows: Row[]) {
  for (const [name, response, gt, score] of rows) {
    test(`${category}: ${name}`, () => {
      const r = ruleScore(category, response, gt, true);
      if (r.score !== score) throw new Error(`${name}: score ${r.score}, want ${score} (pred ${JSON.stringify(r.pred)}, gold ${JSON.stringify(r.gold)})`);
    });
  }
}

describe("qa", () => {
  table("qa", [
    ["plain", `${T}Therefore, the answer is Paris.`, "Paris", 1],
    ["markdown bold", `${T}Therefore, the answer is **Paris**.`, "Paris", 1],
    ["articles dropped", `${T}Therefore, the answer is The Beatles.`, "Beatles", 1],
    ["unicode kept", `${T}Therefore, the answer is Zürich.`, "zürich", 1],
    ["unicode not folded", `${T}Therefore, the answer is Zurich.`, "Zürich", 0],
    ["sub-EM: prediction contains gold", `${T}Therefore, the answer is Paris, France.`, "Paris", 1],
    ["cover: a fragment of the gold scores 0", `${T}Therefore, the answer is Ada.`, "Ada Brenn", 0],
    ["cover: one digit of a year scores 0", `${T}Therefore, the answer is 9.`, "1955", 0],
    ["cover: gold inside a longer word scores 0", `${T}Therefore, the answer is 19555.`, "1955", 0],
    ["cover: gold wrapped in more words", `${T}Therefore, the answer is 1955. (B)`, "1955", 1],
    ["punctuation dropped", `${T}Therefore, the answer is U.S.A.`, "USA", 1],
    ["thousands comma", `${T}Therefore, the answer is 1,000.`, "1000", 1],
    ["last marker wins", `${T}the answer is London. No wait, the answer is Paris.`, "Paris", 1],
    ["last marker wins (wrong)", `${T}the answer is Paris. No wait, the answer is London.`, "Paris", 0],
    ["marker is case-sensitive", `${T}The answer is Paris.`, "Paris", 0],
    ["no marker", `${T}Paris.`, "Paris", 0],
    ["no </think>", "Therefore, the answer is Paris.", "Paris", 0],
    ["marker before </think> only", "the answer is Paris</think>I am not sure.", "Paris", 0],
    ["empty answer", `${T}Therefore, the answer is .`, "Paris", 0],
    ["answer normalizes to empty (the fix)", `${T}Therefore, the answer is the.`, "Paris", 0],
    ["empty region", `${T}   `, "Paris", 0],
    ["wrong answer", `${T}Therefore, the answer is Rome.`, "Paris", 0],
    ["full-sentence ground truth", `${T}Therefore, the answer is Paris.`, "Therefore, the answer is Paris.", 1],
    ["full-sentence ground truth, bold", `${T}Therefore, the answer is Paris.`, "Therefore, the answer is **Paris**", 1],
    ["several </think>: last one counts", `<think>a</think>the answer is Rome</think>Therefore, the answer is Paris.`, "Paris", 1],
    ["chat-template leftover stripped", `${T}Therefore, the answer is Paris.<｜end▁of▁sentence｜>`, "Paris", 1],
  ]);

  test("qaMatch: cover (default), either (QwenLong-L1's two-way rule) and exact", () => {
    const rows: [pred: string, gold: string, cover: number, either: number, exact: number][] = [
      ["9", "1955", 0, 1, 0], // the reward hack the demo's policies found under "either"
      ["195", "1955", 0, 1, 0],
      ["1955", "1955", 1, 1, 1],
      ["The 1955", "1955", 1, 1, 1], // normalization drops the article first
      ["born in 1955", "1955", 1, 1, 0],
      ["Ada", "Ada Brenn", 0, 1, 0],
      ["Ada Brenn, Oslo", "Ada Brenn", 1, 1, 0],
      ["Brenn Ada", "Ada Brenn", 0, 0, 0], // cover keeps the gold's word order
      ["Adam Brenner", "Ada Brenn", 0, 0, 0],
      ["the", "1955", 0, 0, 0], // normalizes to "": never a match
    ];
    for (const [pred, gold, ...want] of rows) {
      const got = (["cover", "either", "exact"] as QaMatch[]).map((m) => subExactMatch(pred, gold, m));
      if (got.join() !== want.join()) throw new Error(`${pred} vs ${gold}: cover/either/exact ${got.join("/")}, want ${want.join("/")}`);
    }
    expect(ruleScore("qa", `${T}Therefore, the answer is 9.`, "1955", true, "either").score).toBe(1);
    expect(ruleScore("qa", `${T}Therefore, the answer is 9.`, "1955", true).score).toBe(0);
  });

  test("EM and F1 are reported with the score", () => {
    const r = ruleScore("qa", `${T}Therefore, the answer is Paris, France.`, "Paris", true);
    expect(r.em).toBe(0);
    expect(r.f1).toBeCloseTo(2 / 3, 10);
    expect(r.pred).toBe("Paris, France");
  });

  test("normalization and F1 details", () => {
    expect(normalizeAnswer("  The  Quick, brown FOX! ")).toBe("quick brown fox");
    expect(normalizeAnswer("théâtre the")).toBe("théâtre"); // unicode word boundary, as Python's \b
    expect(normalizeAnswer("Anne")).toBe("anne"); // "an" inside a word stays
    expect(tokenF1("yes", "no")).toBe(0);
    expect(tokenF1("the cat sat", "cat sat down")).toBeCloseTo(0.8, 10);
  });

  test("requireThink false scores the whole response", () => {
    expect(ruleScore("qa", "Therefore, the answer is Paris.", "Paris", false).score).toBe(1);
    expect(answerRegion("abc", false)).toBe("abc");
    expect(answerRegion("abc", true)).toBeNull();
  });
});

describe("math", () => {
  table("math", [
    ["integer", `${T}Therefore, the answer is 42.`, "42", 1],
    ["marker case-insensitive", `${T}THE ANSWER IS 42`, "42", 1],
    ["currency and commas", `${T}Therefore, the answer is $1,234.56.`, "1234.56", 1],
    ["euro prefix", `${T}Therefore, the answer is €20 million.`, "20", 1],
    ["percent vs fraction", `${T}Therefore, the answer is 25%.`, "0.25", 1],
    ["fraction vs percent", `${T}Therefore, the answer is 0.25.`, "25%", 1],
    ["power of ten (10x)", `${T}Therefore, the answer is 1.2.`, "12", 1],
    ["sign ignored", `${T}Therefore, the answer is -5.`, "5", 1],
    ["within 0.15%", `${T}Therefore, the answer is 100.1.`, "100", 1],
    ["outside 0.15%", `${T}Therefore, the answer is 100.2.`, "100", 0],
    ["rounding up to 3 decimals", `${T}Therefore, the answer is 3.14159.`, "3.1416", 1],
    ["wrong number", `${T}Therefore, the answer is 13.`, "12", 0],
    ["= and ≈ prefixes", `${T}Therefore, the answer is ≈ 3.5`, "3.5", 1],
    ["= prefix", `${T}Therefore, the answer is =10`, "10", 1],
    ["markdown bold", `${T}Therefore, the answer is **42**.`, "42", 1],
    ["first number after the first marker with one", `${T}the answer is 5. Hmm, the answer is 7.`, "7", 0],
    ["a marker without a number is skipped", `${T}the answer is unclear; the answer is 7.`, "7", 1],
    ["words before the number are not read (as docmath.py)", `${T}the answer is approximately 5.`, "5", 0],
    ["no marker", `${T}42`, "42", 0],
    ["no </think>", "Therefore, the answer is 42.", "42", 0],
    ["zero", `${T}Therefore, the answer is 0.`, "0", 1],
    ["full-sentence ground truth", `${T}Therefore, the answer is 1234.`, "Therefore, the answer is $1,234.", 1],
    ["bare ground truth with unit", `${T}Therefore, the answer is 7.5.`, "7.5 million", 1],
  ]);

  test("numbersMatch is DocMath's compare_two_numbers", () => {
    expect(numbersMatch(2500, 25)).toBe(true); // 100x within 0.15%
    expect(numbersMatch(25.02, 0.25)).toBe(true);
    expect(numbersMatch(0.5, 0.25)).toBe(false);
    expect(numbersMatch(NaN, 1)).toBe(false);
    expect(numbersMatch(0, 0)).toBe(true);
  });
});

describe("choice", () => {
  table("choice", [
    ["parenthesized", `${T}The correct answer is (B).`, "B", 1],
    ["bare letter", `${T}The correct answer is B`, "(B)", 1],
    ["markdown bold", `${T}**The correct answer is (C)**`, "The correct answer is (C)", 1],
    ["wrong letter", `${T}The correct answer is (A).`, "B", 0],
    ["marker is case-sensitive", `${T}the correct answer is (B).`, "B", 0],
    ["letters beyond D are not options", `${T}The correct answer is (E).`, "B", 0],
    ["parenthesized form wins over bare", `${T}The correct answer is A? The correct answer is (B).`, "B", 1],
    ["first parenthesized match wins (as long.py)", `${T}The correct answer is (A). The correct answer is (B).`, "B", 0],
    ["no marker", `${T}(B)`, "B", 0],
    ["no </think>", "The correct answer is (B).", "B", 0],
  ]);
});

describe("routing and ground truths", () => {
  test("category wins; data_source routes otherwise", () => {
    expect(routeCategory("docmath_qa")).toBe("math");
    expect(routeCategory("long_toc_choices_0_20000")).toBe("choice");
    expect(routeCategory("musique")).toBe("qa");
    expect(routeCategory("anything", "math")).toBe("math");
    expect(routeCategory("docmath_qa", "qa")).toBe("qa");
  });

  test("unparseable ground truths are rejected, never scored", () => {
    expect(parseGroundTruth("math", "about ten")).toBeNull();
    expect(parseGroundTruth("choice", "E")).toBeNull();
    expect(parseGroundTruth("qa", "the.")).toBeNull();
    expect(parseGroundTruth("qa", "Therefore, the answer is ...")).toBeNull();
    expect(() => ruleScore("math", `${T}the answer is 1`, "about ten", true)).toThrow(/cannot be parsed/);
  });

  test("bare and full-sentence ground truths parse to the same gold", () => {
    expect(parseGroundTruth("qa", "Therefore, the answer is Paris.")).toBe(parseGroundTruth("qa", "Paris")!);
    expect(parseGroundTruth("math", "Therefore, the answer is $1,200.")).toBe("1200");
    expect(parseGroundTruth("math", "-3.5%")).toBe("-3.5");
    expect(parseGroundTruth("choice", "The correct answer is (D).")).toBe("D");
  });
});
