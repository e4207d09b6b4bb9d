// Multiple-choice rule verifier: "The correct answer is (X)" or "The correct answer is X", X in A-D.
// Behaviour of QwenLong-L1's verl/utils/reward_score/long.py: case-sensitive marker, first match, `*` removed.

const WITH_PARENS = /The correct answer is \(([A-D])\)/;
const BARE = /The correct answer is ([A-D])/;

/** The chosen letter; the parenthesized form wins over the bare one, and the first match wins (as long.py). */
export function choiceFinalAnswer(region: string): string | null {
  const s = region.replaceAll("*", "");
  return WITH_PARENS.exec(s)?.[1] ?? BARE.exec(s)?.[1] ?? null;
}

/** A ground truth may be the marker sentence, or a bare letter "B" / "(B)"; null otherwise. */
export function choiceGold(groundTruth: string): string | null {
  const fromSentence = choiceFinalAnswer(groundTruth);
  if (fromSentence !== null) return fromSentence;
  const m = /^\(?([A-D])\)?\.?$/.exec(groundTruth.replaceAll("*", "").trim());
  return m ? m[1]! : null;
}

export interface ChoiceScore {
  score: number;
  pred: string | null;
}

export function scoreChoice(region: string, gold: string): ChoiceScore {
  const pred = choiceFinalAnswer(region);
  return { score: pred !== null && pred === gold ? 1 : 0, pred };
}
