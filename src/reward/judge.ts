// LLM-as-a-judge: the prompts, the verdict rule and the Judge interface (backends: backend.ts, openai.ts).
// The prompts carry QwenLong-L1's judge instructions (design.md §5) in our own words; the user turn keeps its layout.

export const JUDGE_SYSTEM_PROMPT = `You check whether two answers to the same problem are equivalent.
You are given a problem, Answer 1 and Answer 2. Do not solve the problem yourself: only decide whether the two
answers state the same value or meaning, allowing for different wording, formatting or notation.

Reply in this format:
1) A short explanation of why the answers are or are not equivalent.
2) Your final verdict: [[YES]] if they are equivalent, [[NO]] if they are not.
`;

/** Answer 1 is the prediction, Answer 2 the gold answer (the original's order). */
export function judgeUserPrompt(question: string, prediction: string, gold: string): string {
  return `\nProblem: ${question}\nAnswer 1: ${prediction}\nAnswer 2: ${gold}\n`;
}

/** 1 for a final [[YES]], 0 for a final [[NO]], null when the reply has neither (stricter than "YES anywhere"). */
export function parseVerdict(reply: string): 0 | 1 | null {
  const yes = reply.lastIndexOf("[[YES]]");
  const no = reply.lastIndexOf("[[NO]]");
  if (yes < 0 && no < 0) return null;
  return yes > no ? 1 : 0;
}

/**
 * The question the judge sees. From a filled QwenLong-L1 prompt: the text between `</text>` and
 * "Format your response as follows:" (as the original slices it); any other text is used as it is.
 */
export function judgeQuestion(promptOrQuestion: string): string {
  const start = promptOrQuestion.lastIndexOf("</text>");
  if (start < 0) return promptOrQuestion.trim();
  const rest = promptOrQuestion.slice(start + "</text>".length);
  const end = rest.indexOf("Format your response as follows:");
  return (end < 0 ? rest : rest.slice(0, end)).trim();
}

export interface JudgeVerdict {
  /** 1 equivalent, 0 not, null when the judge could not answer (the caller keeps the rule score). */
  verdict: 0 | 1 | null;
  cached: boolean;
  /** Why there is no verdict: "timeout", "network", "http 500", "malformed reply", "no verdict", ... */
  error?: string;
}

export interface JudgeStats {
  asked: number;
  yes: number;
  no: number;
  cacheHits: number;
  /** Questions left without a verdict after all retries; the reward fell back to the rule score. */
  failures: number;
  retries: number;
  /** failures by reason, e.g. { "http 500": 3, "no verdict": 1 } */
  failureReasons: Record<string, number>;
  cacheWriteErrors: number;
}

export interface Judge {
  readonly backend: "openai" | "local";
  /** Never throws: every failure becomes { verdict: null, error }. */
  ask(question: string, prediction: string, gold: string): Promise<JudgeVerdict>;
  stats(): JudgeStats;
}

export function emptyJudgeStats(): JudgeStats {
  return { asked: 0, yes: 0, no: 0, cacheHits: 0, failures: 0, retries: 0, failureReasons: {}, cacheWriteErrors: 0 };
}
