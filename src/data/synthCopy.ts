// Copy lists: the pretraining stage's data for a fresh model (src/train/sft.ts). Each record's document is a list
// of 6-16 items of the synthetic world's vocabulary (full names, cities, companies, professions, years) and its
// gold reasoning is the same list again. A model can only lower that loss by copying from its context, which is
// what a pretrained model brings to QwenLong-L1 and a tiny fresh one lacks (README, "The demo run").
// Deterministic by (seed, record index).
import { createRng, type Rng } from "../util/rng.ts";
import type { DocRecord } from "./record.ts";
import { CITIES, COMPANY_KINDS, COMPANY_STEMS, FIRST_NAMES, LAST_NAMES, PROFESSIONS } from "./synthVocab.ts";

export interface CopyOptions {
  n: number;
  /** Items per list, uniform in [minItems, maxItems]. */
  minItems: number;
  maxItems: number;
  seed: number;
}

export const COPY_QUESTION = "Repeat the list.";

function item(rng: Rng): string {
  const pick = <T>(a: readonly T[]): T => a[rng.int(a.length)]!;
  const k = rng.next();
  if (k < 0.3) return `${pick(FIRST_NAMES)} ${pick(LAST_NAMES)}`;
  if (k < 0.5) return pick(CITIES);
  if (k < 0.65) return `${pick(COMPANY_STEMS)} ${pick(COMPANY_KINDS)}`;
  if (k < 0.8) return pick(PROFESSIONS);
  return String(1900 + rng.int(125));
}

export function generateCopyRecords(o: CopyOptions): DocRecord[] {
  return Array.from({ length: o.n }, (_, i) => {
    const rng = createRng(o.seed, 2_000_000 + i); // streams apart from the QA generator's
    const items = Array.from({ length: o.minItems + rng.int(o.maxItems - o.minItems + 1) }, () => item(rng));
    const list = items.join(", ");
    return { id: `copy-${o.seed}-${i}`, dataSource: "synth_copy", category: "qa", context: list, question: COPY_QUESTION, answer: items.at(-1)!, reasoning: list };
  });
}
