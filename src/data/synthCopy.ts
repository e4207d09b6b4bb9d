// Copy lists: the pretraining stage's data for a fresh model (src/train/sft.ts). Each record's document is a list
// of 6-16 items of the synthetic world's vocabulary (full names, cities, companies, professions, years) and its
// gold reasoning is the same list again. A model can only lower that loss by copying from its context, which is
// what a pretrained model brings to QwenLong-L1 and a tiny fresh one lacks (README, "The demo run").
// Deterministic by (seed, record index).
import { createRng, type Rng } from "../util/rng.ts";
import type { Tokenizer } from "../tokenizer/index.ts";
import type { DocRecord } from "./record.ts";
import { generateRecords } from "./synth.ts";
import { CITIES, COMPANY_KINDS, COMPANY_STEMS, FIRST_NAMES, LAST_NAMES, PROFESSIONS } from "./synthVocab.ts";

export interface CopyOptions {
  n: number;
  /** Items per list, uniform in [minItems, maxItems]. */
  minItems: number;
  maxItems: number;
  seed: number;
  /**
   * Fraction of the lists that are digit strings instead: minItems-maxItems random 3-digit groups written without
   * separators ("482193077905"), which cl100k_base cuts into one token per group. Each group is then uniform over
   * 1,000 tokens: nothing but copying predicts it, and copying it is plain induction (the token after the previous
   * one's earlier occurrence). 0 or absent = world items only.
   */
  digitShare?: number;
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
    if ((o.digitShare ?? 0) > 0 && createRng(o.seed, 4_000_000 + i).next() < o.digitShare!) {
      const rng = createRng(o.seed, 5_000_000 + i);
      const groups = Array.from({ length: o.minItems + rng.int(o.maxItems - o.minItems + 1) }, () => String(rng.int(1000)).padStart(3, "0"));
      const digits = groups.join("");
      return { id: `copy-${o.seed}-${i}`, dataSource: "synth_copy_digits", category: "qa", context: digits, question: COPY_QUESTION, answer: groups.at(-1)!, reasoning: digits };
    }
    const rng = createRng(o.seed, 2_000_000 + i); // streams apart from the QA generator's
    const items = Array.from({ length: o.minItems + rng.int(o.maxItems - o.minItems + 1) }, () => item(rng));
    const list = items.join(", ");
    return { id: `copy-${o.seed}-${i}`, dataSource: "synth_copy", category: "qa", context: list, question: COPY_QUESTION, answer: items.at(-1)!, reasoning: list };
  });
}

// Recitations: a synthetic document (src/data/synth.ts, lookup records) whose gold reasoning quotes some of its
// passages in a shuffled order, each line written as a "quote" reasoning cites its evidence: `<sentence> (Passage N)`.
// Where a copy list is copied in order, a recitation line starts at a passage the model cannot predict, and its
// value tokens (a city, a name, a year) must then be found among sentences of the same shape about other subjects,
// the retrieval step of a lookup, at every prompt length the documents span (README, "The demo run").

export interface ReciteOptions {
  n: number;
  /** Prompt tokens per document, as data.synth measures them. */
  minTokens: number;
  maxTokens: number;
  /** Passages quoted per record (fewer when the document has fewer). */
  lines: number;
  seed: number;
  tokenizer: string;
}

export const RECITE_QUESTION = "Quote some of the passages.";

/** Passage number and text of each `Passage N: text` line of a synthetic document. */
export function passagesOf(context: string): { n: number; text: string }[] {
  return context.split("\n").flatMap((line) => {
    const m = /^Passage (\d+): (.*)$/.exec(line);
    return m ? [{ n: Number(m[1]), text: m[2]! }] : [];
  });
}

export function generateRecitations(o: ReciteOptions, tok: Tokenizer): DocRecord[] {
  const docs = generateRecords({ n: o.n, minTokens: o.minTokens, maxTokens: o.maxTokens, seed: o.seed, kinds: ["lookup"], tokenizer: o.tokenizer }, tok);
  return docs.map((d, i) => {
    const rng = createRng(o.seed, 3_000_000 + i);
    const quoted = rng.shuffle(passagesOf(d.context)).slice(0, o.lines);
    const reasoning = quoted.map((p) => `${p.text} (Passage ${p.n})`).join("\n");
    return { id: `recite-${o.seed}-${i}`, dataSource: "synth_recite", category: "qa", context: d.context, question: RECITE_QUESTION, answer: `Passage ${quoted.at(-1)!.n}`, reasoning };
  });
}
