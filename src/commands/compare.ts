// `longrl compare A.jsonl B.jsonl`: two evals of the same items, item by item (src/eval/compare.ts). The
// question it answers: did checkpoint B score higher than checkpoint A on this eval set, beyond the noise?
import type { Argv, CommandModule } from "yargs";
import { loadRecords } from "../data/load.ts";
import { compareEvals, formatCompare, readEvalItems, recordGroups, type CompareGroups } from "../eval/compare.ts";
import { QA_MATCHES } from "../reward/qa.ts";
import { usageError } from "../util/errors.ts";
import { qaMatchArg, type Writer } from "./verify.ts";

export interface CompareArgs {
  a: string;
  b: string;
  buckets?: string;
  qaMatch?: string;
  data?: string;
  groupBy?: string;
  without?: string;
  json: boolean;
}

/** "256,384,512" → [256, 384, 512]; the eval table's own check then rejects edges that do not increase. */
export function parseBuckets(text: string): number[] {
  const parts = text.split(/[\s,]+/).filter((s) => s !== "");
  const edges = parts.map(Number);
  const bad = parts.findIndex((s, i) => !/^\d+$/.test(s) || edges[i]! < 1 || (i > 0 && edges[i]! <= edges[i - 1]!));
  if (bad >= 0) throw usageError(`--buckets: '${parts[bad]}' is not an increasing positive prompt length; give e.g. --buckets 256,384,512`);
  return edges;
}

export function runCompare(a: CompareArgs, out: Writer = process.stdout): void {
  const match = a.qaMatch === undefined ? undefined : qaMatchArg(a.qaMatch);
  if (a.groupBy !== undefined && a.data === undefined) throw usageError("--group-by needs --data F.jsonl (the records the evals scored)");
  if (a.data !== undefined && a.groupBy === undefined) throw usageError("--data needs --group-by FIELD (e.g. meta.relation)");
  if (a.without !== undefined && a.groupBy === undefined) throw usageError("--without needs --group-by FIELD and --data F.jsonl (the values it names are the field's)");
  const without = a.without?.split(",").map((v) => v.trim()).filter((v) => v !== "");
  if (without !== undefined && without.length === 0) throw usageError("--without: give one or more values of the --group-by field, e.g. --without birthYear,foundedYear");
  const groups: CompareGroups | undefined =
    a.data !== undefined && a.groupBy !== undefined
      ? { field: a.groupBy, where: a.data, byItem: recordGroups(loadRecords(a.data).records, a.groupBy, a.data), without }
      : undefined;
  const rows = compareEvals(readEvalItems(a.a, match), readEvalItems(a.b, match), a.buckets === undefined ? [] : parseBuckets(a.buckets), groups);
  const title = `hybrid accuracy per item${match ? ` (qa re-scored with qaMatch ${match})` : ""}: A = ${a.a}, B = ${a.b}`;
  out.write(a.json ? `${JSON.stringify(rows)}\n` : formatCompare(rows, title));
}

export const compareCommand: CommandModule<{}, CompareArgs> = {
  command: "compare <a> <b>",
  describe: "compare two evals of the same items item by item: B - A in points, its paired standard error, items up/down",
  builder: (y: Argv<{}>) =>
    y
      .positional("a", { type: "string", demandOption: true, describe: "eval/<label>.jsonl of the baseline (e.g. after-sft.jsonl)" })
      .positional("b", { type: "string", demandOption: true, describe: "eval/<label>.jsonl of the same items under another checkpoint" })
      .option("buckets", { type: "string", describe: "prompt-length bucket edges, e.g. 256,384,512 (default: all items only)" })
      .option("qa-match", { type: "string", choices: [...QA_MATCHES], describe: "re-score qa samples from their stored answers with this rule (reward.qaMatch) instead of the stored scores" })
      .option("data", { type: "string", describe: "the records the evals scored (JSONL; for the synthetic sets, `longrl data synth` with the config's settings)" })
      .option("group-by", { type: "string", describe: "with --data: one row per value of this record field, e.g. meta.relation, meta.kind, category" })
      .option("without", { type: "string", describe: "with --group-by: a row over all items but those of these values, comma-separated, e.g. birthYear,foundedYear" })
      .option("json", { type: "boolean", default: false, describe: "print the rows as JSON" }) as unknown as Argv<CompareArgs>,
  handler: (a) => runCompare(a),
};
