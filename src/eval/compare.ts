// Paired comparison of two evals of the same items (`longrl compare A.jsonl B.jsonl`): each item's hybrid
// accuracy (the mean over its samples) in A and in B, and the per-item differences B - A summarized as a mean,
// its paired standard error sd(d) / sqrt(n), and how many items went up, down or stayed. Two checkpoints
// scored on one eval set differ item by item far less than two independent evals would, so this resolves
// smaller changes than comparing the two accuracy figures. Pure apart from reading the files.
import { readFileSync } from "node:fs";
import { recordToJson, type DocRecord } from "../data/record.ts";
import { qaGold, subExactMatch, type QaMatch } from "../reward/qa.ts";
import { usageError } from "../util/errors.ts";
import { bucketLabels, bucketOf } from "./metrics.ts";

/** One item of an eval file: its prompt length and the hybrid scores of its samples. */
export interface ItemScores {
  dataSource: string;
  id: string;
  promptTokens: number;
  hybrid: number[];
}

/**
 * A qa sample's hybrid score with its rule part re-scored under `match` from the stored prediction and answer;
 * the stored judge verdict is kept. A qa sample is one with a numeric "em" (math and choice samples store null).
 */
function rescoreQa(rec: Record<string, unknown>, match: QaMatch, where: string): number | null {
  if (typeof rec.em !== "number") return null;
  if (typeof rec.answer !== "string") throw usageError(`${where}: --qa-match needs the sample's "answer" (an eval sample line)`);
  const gold = qaGold(rec.answer);
  const rule = typeof rec.pred === "string" && gold !== null ? subExactMatch(rec.pred, gold, match) : 0;
  return Math.max(rule, typeof rec.judge === "number" ? rec.judge : 0);
}

/** The key of an item in readEvalItems' map and in recordGroups': its data source and id. */
export const itemKey = (source: string, id: string) => JSON.stringify([source, id]);

/** The sample lines of an eval/<label>.jsonl, parsed, each with its file:line for errors; an empty file is an error. */
export function readEvalLines(path: string): Array<{ rec: Record<string, unknown>; where: string }> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw usageError(`${path}: cannot read the eval file; give an eval/<label>.jsonl written by longrl eval or train`);
  }
  const out: Array<{ rec: Record<string, unknown>; where: string }> = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `${path}:${i + 1}`;
    try {
      out.push({ rec: JSON.parse(line) as Record<string, unknown>, where });
    } catch {
      throw usageError(`${where}: not a JSON line; give an eval/<label>.jsonl written by longrl eval or train`);
    }
  });
  if (out.length === 0) throw usageError(`${path}: no eval samples in the file`);
  return out;
}

/**
 * Reads eval/<label>.jsonl (src/eval/run.ts writes it): items keyed by (data_source, id), in file order. With
 * qaMatch, qa samples are re-scored under that rule (reward.qaMatch) instead of the score stored at eval time.
 */
export function readEvalItems(path: string, qaMatch?: QaMatch): Map<string, ItemScores> {
  const items = new Map<string, ItemScores>();
  for (const { rec, where } of readEvalLines(path)) {
    const { id, data_source: source, prompt_tokens: tokens } = rec;
    const hybrid = (qaMatch === undefined ? null : rescoreQa(rec, qaMatch, where)) ?? rec.hybrid;
    if (typeof id !== "string" || typeof source !== "string") throw usageError(`${where}: needs string fields "id" and "data_source" (an eval sample line)`);
    if (typeof tokens !== "number" || !Number.isInteger(tokens) || tokens < 0) throw usageError(`${where}: "prompt_tokens" must be a non-negative integer`);
    if (typeof hybrid !== "number" || !Number.isFinite(hybrid)) throw usageError(`${where}: "hybrid" must be a finite number`);
    const key = itemKey(source, id);
    const item = items.get(key);
    if (!item) items.set(key, { dataSource: source, id, promptTokens: tokens, hybrid: [hybrid] });
    else {
      if (item.promptTokens !== tokens) throw usageError(`${where}: item ${source}/${id} has prompt_tokens ${tokens} here and ${item.promptTokens} on an earlier line`);
      item.hybrid.push(hybrid);
    }
  }
  return items;
}

/**
 * Each record's value at a dotted field path of its longrl JSON line ("category", "meta.relation"), keyed as
 * readEvalItems keys items; an array value is joined with ",". A record without the field is an error.
 */
export function recordGroups(records: readonly DocRecord[], field: string, where: string): Map<string, string> {
  const groups = new Map<string, string>();
  for (const r of records) {
    let v: unknown = recordToJson(r);
    for (const key of field.split(".")) v = v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
    if (v === undefined || v === null) throw usageError(`${where}: record ${r.id} has no field '${field}'; give --group-by a field every record has (e.g. category, meta.kind)`);
    const label = Array.isArray(v) ? v.map(String).join(",") : typeof v === "object" ? JSON.stringify(v) : String(v);
    groups.set(itemKey(r.dataSource, r.id), label);
  }
  return groups;
}

/** Items grouped by a field of their data records (recordGroups): rows "<field>=<value>", values in sorted order. */
export interface CompareGroups {
  field: string;
  /** The data file, for the error when an eval item has no record in it. */
  where: string;
  byItem: Map<string, string>;
  /** Values whose items a row "all without ..." leaves out (e.g. the year relations, whose last digit RL learns to guess). */
  without?: readonly string[];
}

export interface CompareRow {
  /** A length bucket label ("len ≤256"), a group ("meta.relation=birthYear") or "all". */
  label: string;
  items: number;
  /** Mean over items of each item's mean hybrid score, in A and in B. */
  a: number;
  b: number;
  /** Mean of the per-item differences b - a, and its standard error sd / sqrt(n) (0 for one item). */
  diff: number;
  se: number;
  up: number;
  down: number;
  same: number;
}

/**
 * Pairs the items of two evals and summarizes b - a per length bucket (non-empty ones, in edge order) and over
 * all. Both evals must hold the same items: a missing item is an error naming one of them, not a silent drop.
 */
export function compareEvals(
  a: Map<string, ItemScores>, b: Map<string, ItemScores>, bucketEdges: readonly number[] = [], groups?: CompareGroups,
): CompareRow[] {
  const name = (it: ItemScores) => `${it.dataSource}/${it.id}`;
  for (const [key, it] of a) if (!b.has(key)) throw usageError(`compare: item ${name(it)} is in the first eval and not in the second; compare two evals of the same data`);
  for (const [key, it] of b) if (!a.has(key)) throw usageError(`compare: item ${name(it)} is in the second eval and not in the first; compare two evals of the same data`);
  const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const groupOf = (key: string, it: ItemScores) => {
    const g = groups?.byItem.get(key);
    if (groups && g === undefined) throw usageError(`compare: item ${name(it)} is not in ${groups.where}; give --data the file the evals were run on`);
    return g ?? "";
  };
  const pairs = [...a].map(([key, it]) => ({
    bucket: bucketOf(it.promptTokens, bucketEdges), group: groupOf(key, it), a: mean(it.hybrid), b: mean(b.get(key)!.hybrid),
  }));
  const summarize = (label: string, ps: typeof pairs): CompareRow => {
    const d = ps.map((p) => p.b - p.a);
    const diff = mean(d);
    const variance = d.length > 1 ? d.reduce((s, x) => s + (x - diff) ** 2, 0) / (d.length - 1) : 0;
    return {
      label, items: ps.length, a: mean(ps.map((p) => p.a)), b: mean(ps.map((p) => p.b)), diff, se: Math.sqrt(variance / d.length),
      up: d.filter((x) => x > 0).length, down: d.filter((x) => x < 0).length, same: d.filter((x) => x === 0).length,
    };
  };
  const rows: CompareRow[] = [];
  bucketLabels(bucketEdges).forEach((label, i) => {
    const ps = pairs.filter((p) => p.bucket === i);
    if (ps.length > 0 && bucketEdges.length > 0) rows.push(summarize(`len ${label}`, ps));
  });
  if (groups) {
    const values = [...new Set(pairs.map((p) => p.group))].sort();
    for (const g of values) rows.push(summarize(`${groups.field}=${g}`, pairs.filter((p) => p.group === g)));
    const without = groups.without ?? [];
    const unknown = without.find((v) => !values.includes(v));
    if (unknown !== undefined) throw usageError(`compare: --without '${unknown}' is no value of ${groups.field} in these evals; give some of ${values.join(", ")}`);
    if (without.length > 0) rows.push(summarize(`all without ${groups.field}=${without.join(",")}`, pairs.filter((p) => !without.includes(p.group))));
  }
  rows.push(summarize("all", pairs));
  return rows;
}

/** Fixed-width text: accuracies and the difference in percentage points, one decimal. */
export function formatCompare(rows: readonly CompareRow[], title: string): string {
  const pct = (x: number) => (100 * x).toFixed(1);
  const header = ["group", "items", "A %", "B %", "B-A pts", "± se", "up", "down", "same"];
  const cells = rows.map((r) => [r.label, String(r.items), pct(r.a), pct(r.b), `${r.diff > 0 ? "+" : ""}${pct(r.diff)}`, pct(r.se), String(r.up), String(r.down), String(r.same)]);
  return formatTable(title, header, cells);
}

/** A title line, then a fixed-width table: the first column left-aligned, the others right-aligned. */
export function formatTable(title: string, header: readonly string[], cells: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (cs: readonly string[]) => cs.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return `${[title, line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n")}\n`;
}
