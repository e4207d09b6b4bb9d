// The QwenLong-L1 prompt (one user turn; the model layer wraps it in the chat template) and the gold response.
// Template text is QwenLong-L1's released one; prompt lengths are measured once per record and cached on it.
import type { Tokenizer } from "../tokenizer/index.ts";
import { parseGroundTruth } from "../reward/verify.ts";
import type { DocRecord } from "./record.ts";

const INSTRUCTION = "Please read the following text and answer the question below.";
const QA_FORMAT = 'Format your response as follows: "Therefore, the answer is (insert answer here)".';
const CHOICE_FORMAT = 'Format your response as follows: "The correct answer is (insert answer here)".';
export const CHOICE_LETTERS = ["A", "B", "C", "D"] as const;

type PromptParts = Pick<DocRecord, "category" | "context" | "question" | "choices" | "prompt">;

/**
 * The filled prompt: a record's own `prompt` verbatim, else the template. Choice records list `choices` as
 * (A)-(D) lines when they have them; without them the question text is expected to carry the options.
 */
export function buildPrompt(r: PromptParts): string {
  if (r.prompt !== undefined) return r.prompt;
  const head = `${INSTRUCTION}\n\n<text>\n${r.context}\n</text>\n\n`;
  if (r.category !== "choice") return `${head}${r.question}\n\n${QA_FORMAT}`;
  const options = r.choices ? `\nChoices:\n${r.choices.map((c, i) => `(${CHOICE_LETTERS[i]}) ${c}`).join("\n")}` : "";
  return `${head}What is the correct answer to this question: ${r.question}${options}\n\n${CHOICE_FORMAT}`;
}

/** Prompt tokens of a record, counted with `tok` and cached on the record (recounted only for another tokenizer). */
export function promptTokens(r: DocRecord, tok: Tokenizer): number {
  if (r.promptTokens === undefined || r.promptTokenizer !== tok.name) {
    r.promptTokens = tok.count(buildPrompt(r));
    r.promptTokenizer = tok.name;
  }
  return r.promptTokens;
}

export function measurePrompts(records: readonly DocRecord[], tok: Tokenizer): void {
  for (const r of records) promptTokens(r, tok);
}

/**
 * The response an SFT target or a sanity check uses: `<think>` reasoning `</think>`, then the marker sentence
 * with the parsed gold answer ("Therefore, the answer is X." or "The correct answer is (X).").
 */
export function goldResponse(r: Pick<DocRecord, "category" | "answer" | "reasoning">): string {
  const gold = parseGroundTruth(r.category, r.answer) ?? r.answer;
  const final = r.category === "choice" ? `The correct answer is (${gold}).` : `Therefore, the answer is ${gold}.`;
  return `<think>\n${r.reasoning ?? ""}\n</think>\n\n${final}`;
}
