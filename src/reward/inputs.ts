// Prediction files for `longrl verify`: one {"output", "ground_truth", "data_source"} object per line
// (+ optional "question", "category"), checked with FILE:LINE messages; other keys (ids, ...) are carried along.
import { usageError } from "../util/errors.ts";
import { parseJsonLine, readJsonlLines } from "../data/load.ts";
import type { RewardItem } from "./hybrid.ts";
import { groundTruthHint, isCategory, parseGroundTruth, routeCategory } from "./verify.ts";

export function loadVerifyInputs(path: string): RewardItem[] {
  const items: RewardItem[] = [];
  for (const [line, text] of readJsonlLines(path)) {
    const v = parseJsonLine(path, line, text);
    const bad = (field: string, what: string) => usageError(`${path}:${line}: field ${field}: ${what}`);
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad("(line)", "each line is one JSON object");
    const o = v as Record<string, unknown>;
    if (typeof o.output !== "string") throw bad("output", o.output === undefined ? "missing (the model's response)" : "must be a string");
    const gt = typeof o.ground_truth === "number" && Number.isFinite(o.ground_truth) ? String(o.ground_truth) : o.ground_truth;
    if (typeof gt !== "string" || gt.trim() === "") throw bad("ground_truth", gt === undefined ? "missing" : "must be a non-empty string");
    if (typeof o.data_source !== "string" || o.data_source === "") {
      throw bad("data_source", o.data_source === undefined ? "missing (it routes the verifier: docmath → math, long_toc_choices → choice, else qa)" : "must be a non-empty string");
    }
    if (o.category !== undefined && o.category !== null && !isCategory(o.category)) {
      throw bad("category", `${JSON.stringify(o.category)} is not one of qa, math, choice`);
    }
    if (o.question !== undefined && o.question !== null && typeof o.question !== "string") throw bad("question", "must be a string");
    const category = routeCategory(o.data_source, isCategory(o.category) ? o.category : undefined);
    if (parseGroundTruth(category, gt) === null) {
      throw bad("ground_truth", `${JSON.stringify(gt.slice(0, 60))} cannot be parsed as ${category}; ${groundTruthHint(category)}`);
    }
    const item: RewardItem = { response: o.output, groundTruth: gt, dataSource: o.data_source, category };
    if (typeof o.question === "string") item.question = o.question;
    items.push(item);
  }
  return items;
}
