// LLM-as-a-judge: the prompts, the verdict rule, the Judge interface, and what every backend shares (the
// verdict cache, one request for identical questions in flight, the counts). Backends: openai.ts (HTTP), local.ts
// (a model directory on this GPU); backend.ts picks one.
// The prompts carry QwenLong-L1's judge instructions (design.md §5) in our own words; the user turn keeps its layout.
import { cacheKey, createVerdictCache, type VerdictCache } from "./cache.ts";

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
  /** Frees what the judge holds (the local judge's weights on the GPU); the judge is unusable after. */
  close(): void;
}

export function emptyJudgeStats(): JudgeStats {
  return { asked: 0, yes: 0, no: 0, cacheHits: 0, failures: 0, retries: 0, failureReasons: {}, cacheWriteErrors: 0 };
}

/** A backend's answer to one question: the judge's reply text, or why there is none. */
export type JudgeReply = { reply: string } | { error: string };

/**
 * A Judge over a backend's `reply` function: verdicts from the reply's last [[YES]]/[[NO]], the disk cache
 * (keyed by `cacheModel`, the question, the prediction and the gold; failures are never cached), one call
 * for identical questions in flight (GRPO groups often repeat a prediction), and the counts.
 */
export function judgeOver(
  backend: Judge["backend"],
  opts: { cacheModel: string; cacheDir: string },
  reply: (question: string, prediction: string, gold: string) => Promise<JudgeReply>,
  stats: JudgeStats = emptyJudgeStats(),
  close: () => void = () => {},
): Judge {
  const cache: VerdictCache | null = opts.cacheDir ? createVerdictCache(opts.cacheDir) : null;
  const inflight = new Map<string, Promise<JudgeVerdict>>();

  async function request(question: string, prediction: string, gold: string, key: string): Promise<JudgeVerdict> {
    const r = await reply(question, prediction, gold);
    if ("error" in r) return { verdict: null, cached: false, error: r.error };
    const verdict = parseVerdict(r.reply);
    if (verdict === null) return { verdict: null, cached: false, error: "no verdict" };
    if (cache && !(await cache.set(key, { model: opts.cacheModel, question, prediction, gold, verdict, reply: r.reply }))) {
      stats.cacheWriteErrors++;
    }
    return { verdict, cached: false };
  }

  async function answer(question: string, prediction: string, gold: string): Promise<JudgeVerdict> {
    const key = cacheKey(opts.cacheModel, question, prediction, gold);
    const hit = cache ? await cache.get(key) : undefined;
    if (hit !== undefined) return { verdict: hit, cached: true };
    const pending = inflight.get(key);
    if (pending) {
      const shared = await pending;
      return { ...shared, cached: shared.verdict !== null };
    }
    const p = request(question, prediction, gold, key).finally(() => inflight.delete(key));
    inflight.set(key, p);
    return p;
  }

  return {
    backend,
    async ask(question, prediction, gold) {
      stats.asked++;
      let v: JudgeVerdict;
      try {
        v = await answer(question, prediction, gold);
      } catch (err) {
        v = { verdict: null, cached: false, error: `internal: ${(err as Error)?.message ?? String(err)}` };
      }
      if (v.cached) stats.cacheHits++;
      if (v.verdict === 1) stats.yes++;
      else if (v.verdict === 0) stats.no++;
      else {
        stats.failures++;
        const reason = v.error ?? "unknown";
        stats.failureReasons[reason] = (stats.failureReasons[reason] ?? 0) + 1;
      }
      return v;
    },
    stats: () => structuredClone(stats),
    close,
  };
}
