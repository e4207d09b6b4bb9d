// Math (DocMath) rule verifier: the first number after "the answer is" (case-insensitive) and DocMath's leniency.
// Behaviour of QwenLong-L1's verl/utils/reward_score/docmath.py, with a regex number parser instead of eval.

// After the marker: any of the prefixes DocMath answers carry (= ≈ ` % $ ° £ € ¥), then an optional sign,
// then digits with thousands commas and an optional fraction. Suffixes (%, units, "million") are simply not read.
const ANSWER_NUMBER =
  /the answer is\s*(?:[=≈`%$°£€¥]\s*)*([-+−]?)\s*((?:\d[\d,]*(?:\.\d+)?)|(?:\.\d+))/i;

/** The first number after "the answer is" in the region (`*` removed), as a plain decimal string; null if none. */
export function mathFinalAnswer(region: string): string | null {
  const m = ANSWER_NUMBER.exec(region.replaceAll("*", ""));
  if (!m) return null;
  const sign = m[1] === "-" || m[1] === "−" ? "-" : "";
  return sign + m[2]!.replaceAll(",", "");
}

/** A ground truth may be bare ("$1,234.5", "12%") or the full marker sentence; null when it holds no number. */
export function mathGold(groundTruth: string): string | null {
  const text = /the answer is/i.test(groundTruth) ? groundTruth : `the answer is ${groundTruth.trim()}`;
  return mathFinalAnswer(text);
}

/** Parse a decimal string from mathFinalAnswer; NaN for anything else (never eval). */
export function parseNumber(s: string): number {
  return /^-?(?:\d+(?:\.\d*)?|\.\d+)$/.test(s) ? Number(s) : NaN;
}

function withinEps(pred: number, gold: number): boolean {
  const eps = Math.abs(gold) * 0.0015; // DocMath: 0.15% relative error
  return pred >= gold - eps && pred <= gold + eps;
}

function roundUp3(x: number): number {
  return Math.ceil(x * 1000) / 1000;
}

/**
 * DocMath's compare_two_numbers: equal when the magnitudes differ by an exact power of ten (percent vs
 * fraction), or by ~100x/1000x/100000x within 0.15%, or round up to the same 3 decimals, or are within
 * 0.15% of the gold. The first three compare magnitudes, so the sign is ignored.
 */
export function numbersMatch(pred: number, gold: number): boolean {
  if (!Number.isFinite(pred) || !Number.isFinite(gold)) return false;
  const v1 = Math.max(Math.abs(gold), Math.abs(pred));
  const v2 = Math.min(Math.abs(gold), Math.abs(pred));
  if (v1 !== 0 && v2 !== 0) {
    const d = Math.log10(v1) - Math.log10(v2);
    if (Number.isInteger(d)) return true;
    // The same test without log10's last-bit luck: 1.2 vs 12 is a power of ten even if d = 0.9999999999999999.
    const r = v1 / v2;
    const k = Math.round(Math.log10(r));
    if (Math.abs(r - 10 ** k) <= 1e-12 * r) return true;
  }
  if (v2 <= v1 / 50 && withinEps(v2 * 100, v1)) return true;
  if (v2 <= v1 / 500 && withinEps(v2 * 1000, v1)) return true;
  if (v2 <= v1 / 50000 && withinEps(v2 * 100000, v1)) return true;
  if (roundUp3(v1) === roundUp3(v2)) return true;
  return withinEps(pred, gold);
}

export interface MathScore {
  score: number;
  pred: string | null;
}

/** Score an answer region against a parsed gold number string (see mathGold). */
export function scoreMath(region: string, gold: string): MathScore {
  const pred = mathFinalAnswer(region);
  if (pred === null) return { score: 0, pred };
  return { score: numbersMatch(parseNumber(pred), parseNumber(gold)) ? 1 : 0, pred };
}
