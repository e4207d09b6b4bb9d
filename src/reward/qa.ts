// QA rule verifier: final answer after the last "the answer is", SQuAD normalization, sub-EM score, EM and F1.
// Behaviour of QwenLong-L1's verl/utils/reward_score/docqa.py, except that an answer normalizing to "" scores 0,
// and that the default match (QaMatch "cover") does not reward a prediction that is only a fragment of the gold.

const MARKER = "the answer is"; // case-sensitive, as in docqa.py
// Chat-template leftovers that docqa.py strips from the answer (DeepSeek-R1 distill specials).
const LEFTOVERS = ["<｜Assistant｜>", "<｜end▁of▁sentence｜>"];

/** The text after the last "the answer is", `*` removed, trimmed, dots stripped at both ends; null without the marker. */
export function qaFinalAnswer(region: string): string | null {
  const s = region.replaceAll("*", "");
  const at = s.lastIndexOf(MARKER);
  if (at < 0) return null;
  let ans = s.slice(at + MARKER.length).trim();
  for (const l of LEFTOVERS) ans = ans.replaceAll(l, "");
  return stripDots(ans.trim()).trim();
}

/** A ground truth may be the bare answer or the full marker sentence; null when it normalizes to nothing. */
export function qaGold(groundTruth: string): string | null {
  const gold = groundTruth.includes(MARKER)
    ? qaFinalAnswer(groundTruth)
    : stripDots(groundTruth.replaceAll("*", "").trim()).trim();
  return gold !== null && normalizeAnswer(gold) !== "" ? gold : null;
}

function stripDots(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s[a] === ".") a++;
  while (b > a && s[b - 1] === ".") b--;
  return s.slice(a, b);
}

// Python's string.punctuation: ASCII only, so "’" or "–" survive normalization, as in the original.
const PUNCT = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");
// Python's \b is Unicode-aware; JS \b is ASCII-only, so spell the word boundary with letter/number classes.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/** SQuAD normalization: lower case, drop ASCII punctuation, drop a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  let t = s.toLowerCase();
  t = Array.from(t, (c) => (PUNCT.has(c) ? "" : c)).join("");
  t = t.replace(ARTICLES, " ");
  return t.split(/\s+/u).filter((w) => w !== "").join(" ");
}

export function exactMatch(pred: string, gold: string): number {
  return normalizeAnswer(pred) === normalizeAnswer(gold) ? 1 : 0;
}

/**
 * How a qa prediction earns the rule score of 1.
 * - "cover": the gold's normalized words appear, in order and contiguously, among the prediction's words
 *   (Search-R1's cover-EM, at word level). A fragment of the gold ("9" or "19" for "1955", "Ada" for "Ada Brenn")
 *   scores 0. The default.
 * - "either": QwenLong-L1's docqa.py: either normalized string is a substring of the other. A policy can learn to
 *   answer with a fragment of the gold and be paid for it (README, "The demo run": E end to end).
 * - "exact": normalized exact match only.
 */
export type QaMatch = "cover" | "either" | "exact";
export const QA_MATCHES: readonly QaMatch[] = ["cover", "either", "exact"];

/** 1 when the prediction matches the gold under `match`; 0 when either normalizes to "" (the fix). */
export function subExactMatch(pred: string, gold: string, match: QaMatch): number {
  const p = normalizeAnswer(pred);
  const g = normalizeAnswer(gold);
  if (p === "" || g === "") return 0;
  if (match === "exact") return p === g ? 1 : 0;
  if (match === "either") return p.includes(g) || g.includes(p) ? 1 : 0;
  // Both are single-space-joined words: pad with spaces so a match starts and ends on word boundaries.
  return ` ${p} `.includes(` ${g} `) ? 1 : 0;
}

/** Token F1 over normalized words; yes/no/noanswer must match exactly (HotpotQA's rule, kept by docqa.py). */
export function tokenF1(pred: string, gold: string): number {
  const p = normalizeAnswer(pred);
  const g = normalizeAnswer(gold);
  const special = ["yes", "no", "noanswer"];
  if ((special.includes(p) || special.includes(g)) && p !== g) return 0;
  const pt = p === "" ? [] : p.split(" ");
  const gt = g === "" ? [] : g.split(" ");
  const counts = new Map<string, number>();
  for (const w of gt) counts.set(w, (counts.get(w) ?? 0) + 1);
  let same = 0;
  for (const w of pt) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      same++;
      counts.set(w, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / pt.length;
  const recall = same / gt.length;
  return (2 * precision * recall) / (precision + recall);
}

export interface QaScore {
  score: number;
  pred: string | null;
  em: number;
  f1: number;
}

/** Score an answer region (text after `</think>`) against a parsed gold answer (see qaGold). */
export function scoreQa(region: string, gold: string, match: QaMatch): QaScore {
  const pred = qaFinalAnswer(region);
  if (pred === null || pred === "") return { score: 0, pred, em: 0, f1: 0 };
  return { score: subExactMatch(pred, gold, match), pred, em: exactMatch(pred, gold), f1: tokenF1(pred, gold) };
}
