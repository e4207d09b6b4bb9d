// Hybrid reward = max(rule, judge) plus DAPO overlong shaping; every part is reported for the metrics.
// Recipe: design.md §5 (QwenLong-L1 compute_score + verl's NaiveRewardManager overlong buffer).
import type { OverlongOptions, RewardOptions } from "./config.ts";
import type { Judge } from "./judge.ts";
import { judgeQuestion } from "./judge.ts";
import { routeCategory, ruleScore, type Category } from "./verify.ts";

export interface RewardItem {
  response: string;
  groundTruth: string;
  dataSource: string;
  /** Routes the verifier when present; otherwise data_source decides (see routeCategory). */
  category?: Category | null;
  /** The question for the judge, or the filled prompt (the judge slices the question out of it). */
  question?: string;
  /** Response length in tokens, for overlong shaping; undefined skips the penalty. */
  responseTokens?: number;
}

export interface RewardResult {
  /** hybrid + penalty: what the policy is trained on. */
  score: number;
  rule: number;
  /** The judge's verdict; null when it was not asked or could not answer. */
  judge: number | null;
  judgeError?: string;
  /** The verdict came from the judge's cache (or a shared in-flight request). */
  judgeCached?: boolean;
  /** max(rule, judge); the rule score alone when the judge failed. */
  hybrid: number;
  /** Overlong term, in [-factor, 0] for lengths up to L. */
  penalty: number;
  /** hybrid === 1, before the overlong term (DAPO's dynamic sampling reads this). */
  acc: boolean;
  category: Category;
  pred: string | null;
  em: number | null;
  f1: number | null;
}

export interface RewardStats {
  n: number;
  ruleMean: number;
  hybridMean: number;
  penaltyMean: number;
  scoreMean: number;
  accMean: number;
  overlong: number;
  judgeAsked: number;
  judgeYes: number;
  judgeCacheHits: number;
  /** Judge questions left without a verdict; those items kept their rule score. */
  judgeFailures: number;
}

/** DAPO: min(0, -(len - (L - B)) / B * factor), applied once len > L - B. */
export function overlongPenalty(len: number, o: OverlongOptions): number {
  if (!o.enable || o.bufferTokens <= 0) return 0;
  const expected = o.maxResponseTokens - o.bufferTokens;
  if (len <= expected) return 0;
  return Math.min(0, (-(len - expected) / o.bufferTokens) * o.factor);
}

/**
 * Score a batch. The judge is asked only where the rule score is below 1 and an answer was extracted
 * (QwenLong-L1 never judges an unparsed answer), and never for choice (the original judges qa and math only).
 * Judge calls run concurrently, bounded by the judge's own limit. Never throws for a judge failure.
 */
export async function computeRewards(
  items: readonly RewardItem[],
  opts: RewardOptions,
  judge: Judge | null,
): Promise<{ results: RewardResult[]; stats: RewardStats }> {
  const results = await Promise.all(items.map((item) => scoreOne(item, opts, judge)));
  return { results, stats: summarize(results) };
}

async function scoreOne(item: RewardItem, opts: RewardOptions, judge: Judge | null): Promise<RewardResult> {
  const category = routeCategory(item.dataSource, item.category);
  const rule = ruleScore(category, item.response, item.groundTruth, opts.requireThink, opts.qaMatch);
  let judgeScore: number | null = null;
  let judgeError: string | undefined;
  let cached: boolean | undefined;
  if (judge && rule.score < 1 && rule.pred !== null && rule.pred !== "" && category !== "choice") {
    const v = await judge.ask(judgeQuestion(item.question ?? ""), rule.pred, rule.gold);
    judgeScore = v.verdict;
    judgeError = v.error;
    cached = v.cached;
  }
  const hybrid = Math.max(rule.score, judgeScore ?? 0);
  const penalty = item.responseTokens === undefined ? 0 : overlongPenalty(item.responseTokens, opts.overlong);
  const r: RewardResult = {
    score: hybrid + penalty,
    rule: rule.score,
    judge: judgeScore,
    hybrid,
    penalty,
    acc: hybrid === 1,
    category,
    pred: rule.pred,
    em: rule.em,
    f1: rule.f1,
  };
  if (judgeError !== undefined) r.judgeError = judgeError;
  if (cached !== undefined) r.judgeCached = cached;
  return r;
}

function summarize(results: readonly RewardResult[]): RewardStats {
  const n = results.length;
  const mean = (f: (r: RewardResult) => number) => (n === 0 ? 0 : results.reduce((s, r) => s + f(r), 0) / n);
  const asked = results.filter((r) => r.judge !== null || r.judgeError !== undefined);
  return {
    n,
    ruleMean: mean((r) => r.rule),
    hybridMean: mean((r) => r.hybrid),
    penaltyMean: mean((r) => r.penalty),
    scoreMean: mean((r) => r.score),
    accMean: mean((r) => (r.acc ? 1 : 0)),
    overlong: results.filter((r) => r.penalty < 0).length,
    judgeAsked: asked.length,
    judgeYes: results.filter((r) => r.judge === 1).length,
    judgeCacheHits: results.filter((r) => r.judgeCached === true).length,
    judgeFailures: results.filter((r) => r.judgeError !== undefined).length,
  };
}
