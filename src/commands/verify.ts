// `longrl verify`: score a file of predictions with the rule verifiers (and a judge) without training.
// Prints one JSON line per input on stdout, in order, and a summary on stderr; scoring lives in src/reward.
import type { Argv, CommandModule } from "yargs";
import type { Gpu } from "../gpu/index.ts";
import { usageError } from "../util/errors.ts";
import { createJudge } from "../reward/backend.ts";
import { QA_MATCHES, type QaMatch } from "../reward/qa.ts";
import { DEFAULT_JUDGE, DEFAULT_REWARD, type JudgeBackend, type RewardOptions } from "../reward/config.ts";
import { computeRewards, type RewardResult, type RewardStats } from "../reward/hybrid.ts";
import { loadVerifyInputs } from "../reward/inputs.ts";
import type { JudgeStats } from "../reward/judge.ts";
import { type GpuArgs, withGpu } from "./common.ts";

export interface VerifyArgs extends GpuArgs {
  input: string;
  judge: string;
  judgeUrl: string;
  judgeModel: string;
  judgeApiKeyEnv: string;
  judgeTimeoutMs: number;
  judgeRetries: number;
  judgeConcurrency: number;
  judgeCache: string;
  judgeMaxTokens?: number;
  requireThink: boolean;
  /** Optional for programmatic callers; the CLI always passes it (default DEFAULT_REWARD.qaMatch). */
  qaMatch?: string;
  json: boolean;
}

export interface Writer {
  write(s: string): unknown;
}

/** A --qa-match value as a QaMatch (yargs checks the CLI's; this checks programmatic callers'). */
export function qaMatchArg(value: string): QaMatch {
  if (!(QA_MATCHES as readonly string[]).includes(value)) throw usageError(`--qa-match '${value}' is not one of ${QA_MATCHES.join(", ")}`);
  return value as QaMatch;
}

/** The command's work, with its output streams passed in (tests capture them, and pass their GPU for a local judge). */
export async function runVerify(a: VerifyArgs, out: Writer = process.stdout, err: Writer = process.stderr, gpu?: Gpu): Promise<void> {
  const backends = ["none", "openai", "local"];
  if (!backends.includes(a.judge)) throw usageError(`--judge '${a.judge}' is not one of ${backends.join(", ")}`);
  const maxTokens = a.judgeMaxTokens ?? DEFAULT_JUDGE.maxTokens;
  for (const [flag, v, min] of [["--judge-timeout-ms", a.judgeTimeoutMs, 1], ["--judge-retries", a.judgeRetries, 0], ["--judge-concurrency", a.judgeConcurrency, 1], ["--judge-max-tokens", maxTokens, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw usageError(`${flag} ${v} must be an integer >= ${min}`);
  }
  const opts: RewardOptions = {
    ...DEFAULT_REWARD,
    requireThink: a.requireThink,
    qaMatch: qaMatchArg(a.qaMatch ?? DEFAULT_REWARD.qaMatch),
    judge: {
      ...DEFAULT_JUDGE,
      backend: a.judge as JudgeBackend,
      baseUrl: a.judgeUrl,
      model: a.judgeModel,
      apiKeyEnv: a.judgeApiKeyEnv,
      timeoutMs: a.judgeTimeoutMs,
      maxRetries: a.judgeRetries,
      concurrency: a.judgeConcurrency,
      cacheDir: a.judgeCache,
      maxTokens,
    },
  };
  const items = loadVerifyInputs(a.input);
  const score = async (gpu?: Gpu) => {
    const judge = await createJudge(opts.judge, gpu);
    try {
      return { ...(await computeRewards(items, opts, judge)), judgeStats: judge?.stats() };
    } finally {
      judge?.close();
    }
  };
  // Only the local judge needs the GPU (its model runs there).
  const { results, stats, judgeStats } = opts.judge.backend !== "local" ? await score() : gpu ? await score(gpu) : await withGpu(a, score);
  for (const r of results) out.write(`${JSON.stringify({ score: r.score, acc: r.acc, pred: r.pred, em: r.em, f1: r.f1 })}\n`);
  const summary = summarize(results, stats, judgeStats);
  err.write(a.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
}

interface Summary {
  n: number;
  score: number;
  acc: number;
  rule: number;
  byCategory: Record<string, { n: number; score: number; em: number | null; f1: number | null }>;
  judge: { asked: number; yes: number; failures: number; cacheHits: number; failureReasons: Record<string, number> } | null;
}

function summarize(results: RewardResult[], stats: RewardStats, judge: JudgeStats | undefined): Summary {
  const byCategory: Summary["byCategory"] = {};
  for (const c of ["qa", "math", "choice"]) {
    const rs = results.filter((r) => r.category === c);
    if (rs.length === 0) continue;
    const mean = (f: (r: RewardResult) => number) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
    byCategory[c] = {
      n: rs.length,
      score: mean((r) => r.score),
      em: c === "qa" ? mean((r) => r.em ?? 0) : null,
      f1: c === "qa" ? mean((r) => r.f1 ?? 0) : null,
    };
  }
  return {
    n: stats.n,
    score: stats.scoreMean,
    acc: stats.accMean,
    rule: stats.ruleMean,
    byCategory,
    judge: judge
      ? { asked: stats.judgeAsked, yes: stats.judgeYes, failures: stats.judgeFailures, cacheHits: stats.judgeCacheHits, failureReasons: judge.failureReasons }
      : null,
  };
}

function formatSummary(s: Summary): string {
  const f = (x: number) => x.toFixed(3);
  const lines = [`verify: ${s.n} predictions, score ${f(s.score)}, acc ${f(s.acc)}, rule ${f(s.rule)}`];
  for (const [c, v] of Object.entries(s.byCategory)) {
    lines.push(`  ${c.padEnd(6)} n ${String(v.n).padStart(5)}  score ${f(v.score)}${v.em !== null ? `  em ${f(v.em)}  f1 ${f(v.f1 ?? 0)}` : ""}`);
  }
  if (s.judge) {
    const reasons = Object.entries(s.judge.failureReasons).map(([k, v]) => `${k} ×${v}`).join(", ");
    lines.push(
      `  judge: asked ${s.judge.asked}, yes ${s.judge.yes}, cache hits ${s.judge.cacheHits}, failed ${s.judge.failures}` +
        (s.judge.failures > 0 ? ` (${reasons}; those kept their rule score)` : ""),
    );
  }
  return `${lines.join("\n")}\n`;
}

export const verifyCommand: CommandModule<{}, VerifyArgs> = {
  command: "verify",
  describe: "score predictions with the rule verifiers (+ optional LLM judge), no training",
  builder: (y: Argv<{}>) =>
    y
      .option("input", { type: "string", demandOption: true, describe: 'JSONL: {"output", "ground_truth", "data_source"} (+ "question", "category")' })
      .option("judge", { type: "string", default: DEFAULT_JUDGE.backend, choices: ["none", "openai", "local"], describe: "judge asked when the rule score is below 1" })
      .option("judge-url", { type: "string", default: DEFAULT_JUDGE.baseUrl, describe: "OpenAI-compatible server base URL (with or without /v1)" })
      .option("judge-model", { type: "string", default: DEFAULT_JUDGE.model, describe: "judge model: its name on the server (--judge openai) or its directory (--judge local)" })
      .option("judge-api-key-env", { type: "string", default: DEFAULT_JUDGE.apiKeyEnv, describe: "environment variable holding the API key" })
      .option("judge-timeout-ms", { type: "number", default: DEFAULT_JUDGE.timeoutMs, describe: "per-request timeout" })
      .option("judge-retries", { type: "number", default: DEFAULT_JUDGE.maxRetries, describe: "retries on 429/5xx/network errors/timeouts" })
      .option("judge-concurrency", { type: "number", default: DEFAULT_JUDGE.concurrency, describe: "requests in flight at once (local: prompts per batch)" })
      .option("judge-max-tokens", { type: "number", default: DEFAULT_JUDGE.maxTokens, describe: "cap on the judge's reply, in tokens" })
      .option("judge-cache", { type: "string", default: DEFAULT_JUDGE.cacheDir, describe: 'verdict cache directory ("" disables)' })
      .option("require-think", { type: "boolean", default: DEFAULT_REWARD.requireThink, describe: "score 0 without </think> (--no-require-think reads the whole response)" })
      .option("qa-match", { type: "string", default: DEFAULT_REWARD.qaMatch, choices: [...QA_MATCHES], describe: "qa rule: cover (gold's words inside the answer), either (QwenLong-L1: either contains the other), exact" })
      .option("json", { type: "boolean", default: false, describe: "summary on stderr as one JSON object" }) as unknown as Argv<VerifyArgs>,
  handler: async (args) => {
    await runVerify(args);
  },
};
