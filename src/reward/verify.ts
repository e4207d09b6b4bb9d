// Rule reward: routes a response to the qa, math or choice verifier and scores its answer region.
// Routing and the `</think>` rule follow QwenLong-L1's verl/utils/reward_score/__init__.py (design.md §5).
import { usageError } from "../util/errors.ts";
import { choiceGold, scoreChoice } from "./choice.ts";
import { mathGold, scoreMath } from "./math.ts";
import { DEFAULT_REWARD } from "./config.ts";
import { qaGold, scoreQa, type QaMatch } from "./qa.ts";

export type Category = "qa" | "math" | "choice";
export const CATEGORIES: readonly Category[] = ["qa", "math", "choice"];

export function isCategory(s: unknown): s is Category {
  return typeof s === "string" && (CATEGORIES as readonly string[]).includes(s);
}

/**
 * The record's category when it has one; otherwise by data_source as QwenLong-L1 does:
 * contains "docmath" → math, contains "long_toc_choices" → choice, everything else → qa.
 */
export function routeCategory(dataSource: string, category?: Category | null): Category {
  if (category) return category;
  if (dataSource.includes("docmath")) return "math";
  if (dataSource.includes("long_toc_choices")) return "choice";
  return "qa";
}

/**
 * The text the verifiers read: after the last `</think>`, trimmed. With requireThink a response without
 * `</think>` has no answer region (null → score 0); without it the whole response is the region.
 */
export function answerRegion(response: string, requireThink: boolean): string | null {
  const at = response.lastIndexOf("</think>");
  if (at < 0) return requireThink ? null : response.trim();
  return response.slice(at + "</think>".length).trim();
}

/** The gold answer the verifier of `category` reads from a ground truth; null when it cannot parse one. */
export function parseGroundTruth(category: Category, groundTruth: string): string | null {
  if (category === "math") return mathGold(groundTruth);
  if (category === "choice") return choiceGold(groundTruth);
  return qaGold(groundTruth);
}

/** What each category's ground truth must look like, for load-time error messages. */
export function groundTruthHint(category: Category): string {
  if (category === "math") return "a math ground truth needs a number (e.g. '12.5', '$1,200', or 'Therefore, the answer is 12.5')";
  if (category === "choice") return "a choice ground truth is a letter A-D ('B', '(B)' or 'The correct answer is (B)')";
  return "a qa ground truth must keep some text after normalization (lower case, no punctuation or articles)";
}

export interface RuleResult {
  /** 1 or 0. */
  score: number;
  /** The extracted final answer (qa text, math number, choice letter); null when none was found. */
  pred: string | null;
  /** Parsed gold answer the prediction was compared with. */
  gold: string;
  /** EM and token F1 for qa; null for math and choice. */
  em: number | null;
  f1: number | null;
}

/**
 * Score one response. A ground truth the verifier cannot parse is a data error (loaders reject it with the
 * record id first), so reaching it here throws rather than scoring 0.
 */
export function ruleScore(
  category: Category,
  response: string,
  groundTruth: string,
  requireThink: boolean,
  qaMatch: QaMatch = DEFAULT_REWARD.qaMatch,
): RuleResult {
  const gold = parseGroundTruth(category, groundTruth);
  if (gold === null) {
    throw usageError(`ground truth ${JSON.stringify(groundTruth.slice(0, 80))} cannot be parsed: ${groundTruthHint(category)}`);
  }
  const region = answerRegion(response, requireThink);
  const isQa = category === "qa";
  if (region === null || region === "") {
    return { score: 0, pred: null, gold, em: isQa ? 0 : null, f1: isQa ? 0 : null };
  }
  if (category === "math") return { ...scoreMath(region, gold), gold, em: null, f1: null };
  if (category === "choice") return { ...scoreChoice(region, gold), gold, em: null, f1: null };
  return { ...scoreQa(region, gold, qaMatch), gold };
}
