// Evaluation math: unbiased pass@k, QwenLong-L1's middle truncation, and the per-data_source / per-length
// aggregate table with its terminal and markdown renderings. Pure: scores arrive already computed (src/reward/).
import { usageError } from "../util/errors.ts";

/**
 * Unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k) / C(n, k) (Chen et al. 2021, Codex),
 * in the product form 1 - prod_{i=n-c+1..n} (1 - k/i), which never forms a binomial coefficient.
 * k > n cannot be estimated and is an error (the aggregator reports null instead of calling this).
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 0 || c < 0 || c > n || k < 1) {
    throw usageError(`pass@k: need integers 0 <= c <= n and k >= 1, got n=${n} c=${c} k=${k}`);
  }
  if (k > n) throw usageError(`pass@${k}: only ${n} samples; draw at least ${k} samples per item or lower k`);
  if (n - c < k) return 1; // every k-subset holds a correct sample
  let allWrong = 1;
  for (let i = n - c + 1; i <= n; i++) allWrong *= 1 - k / i;
  return 1 - allWrong;
}

/**
 * Cut a too-long prompt in the middle, as QwenLong-L1's evaluation does (LongBench style): keep the first
 * floor(max/2) and the last max - floor(max/2) tokens (the tail gets the odd one). Returns a copy.
 */
export function middleTruncate(ids: readonly number[], maxTokens: number): number[] {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw usageError(`middleTruncate: maxTokens must be a positive integer, got ${maxTokens}`);
  if (ids.length <= maxTokens) return ids.slice();
  const head = Math.floor(maxTokens / 2);
  const tail = maxTokens - head; // >= 1, so slice(-tail) never means "everything"
  return [...ids.slice(0, head), ...ids.slice(ids.length - tail)];
}

/** One scored sample: one of n responses to one item. */
export interface EvalSample {
  id: string;
  dataSource: string;
  promptTokens: number;
  rule: number;
  /** null when the judge was not asked (rule already 1, or no judge). */
  judge: number | null;
  hybrid: number;
  em: number;
  f1: number;
  responseTokens: number;
  overlong?: boolean;
}

export interface EvalRow {
  kind: "source" | "length" | "all";
  /** The data_source, the length bucket label ("≤1024", "1025–2048", ">4096") or "all". */
  label: string;
  items: number;
  samples: number;
  rule: number;
  /** Mean over the samples the judge scored; null when it was never asked. */
  judge: number | null;
  hybrid: number;
  em: number;
  f1: number;
  /** pass@k per k (same order as EvalTable.ks); null when some item has fewer than k samples. */
  passAtK: Array<number | null>;
  responseTokens: number;
  /** Share of samples flagged overlong. */
  overlong: number;
}

export interface EvalTable {
  ks: number[];
  bucketEdges: number[];
  rows: EvalRow[];
}

export interface AggregateOptions {
  /** Inclusive upper edges of the prompt-length buckets, strictly increasing. */
  bucketEdges?: readonly number[];
  /** The k of each pass@k column. */
  ks?: readonly number[];
}

/** Labels for edges [1024, 2048, 4096]: "≤1024", "1025–2048", "2049–4096", ">4096". */
export function bucketLabels(edges: readonly number[]): string[] {
  if (edges.length === 0) return ["all lengths"];
  const labels = edges.map((e, i) => (i === 0 ? `≤${e}` : `${edges[i - 1]! + 1}–${e}`));
  labels.push(`>${edges[edges.length - 1]}`);
  return labels;
}

/** The bucket index of a prompt length (edges are inclusive upper limits). */
export function bucketOf(tokens: number, edges: readonly number[]): number {
  const i = edges.findIndex((e) => tokens <= e);
  return i < 0 ? edges.length : i;
}

/**
 * Group samples into rows: one per data_source (sorted), one per non-empty length bucket (in edge order),
 * then "all". An item is (dataSource, id); accuracy columns are means over samples, pass@k a mean over items
 * with c = samples whose hybrid score is 1.
 */
export function aggregateEval(samples: readonly EvalSample[], opts: AggregateOptions = {}): EvalTable {
  const edges = [...(opts.bucketEdges ?? [])];
  const ks = [...(opts.ks ?? [1])];
  edges.forEach((e, i) => {
    if (!Number.isInteger(e) || e < 1 || (i > 0 && e <= edges[i - 1]!)) {
      throw usageError(`eval bucket edges must be increasing positive integers, got [${edges.join(", ")}]`);
    }
  });
  for (const k of ks) if (!Number.isInteger(k) || k < 1) throw usageError(`eval pass@k: k must be a positive integer, got ${k}`);
  for (const s of samples) checkSample(s);

  const labels = bucketLabels(edges);
  const bySource = new Map<string, EvalSample[]>();
  const byBucket = new Map<number, EvalSample[]>();
  for (const s of samples) {
    push(bySource, s.dataSource, s);
    push(byBucket, bucketOf(s.promptTokens, edges), s);
  }
  const rows: EvalRow[] = [];
  for (const src of [...bySource.keys()].sort()) rows.push(summarizeGroup("source", src, bySource.get(src)!, ks));
  for (let b = 0; b < labels.length; b++) {
    const group = byBucket.get(b);
    if (group) rows.push(summarizeGroup("length", labels[b]!, group, ks));
  }
  rows.push(summarizeGroup("all", "all", samples, ks));
  return { ks, bucketEdges: edges, rows };
}

function push<K, V>(m: Map<K, V[]>, key: K, v: V): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

function checkSample(s: EvalSample): void {
  const nums: Array<[string, number | null]> = [
    ["promptTokens", s.promptTokens], ["rule", s.rule], ["judge", s.judge], ["hybrid", s.hybrid],
    ["em", s.em], ["f1", s.f1], ["responseTokens", s.responseTokens],
  ];
  for (const [name, v] of nums) {
    if (v !== null && !Number.isFinite(v)) throw usageError(`eval sample ${s.dataSource}/${s.id}: ${name} is ${v}, expected a finite number`);
  }
}

function summarizeGroup(kind: EvalRow["kind"], label: string, group: readonly EvalSample[], ks: readonly number[]): EvalRow {
  const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const items = new Map<string, EvalSample[]>();
  // JSON of the pair keeps ("a/b", "c") and ("a", "b/c") apart.
  for (const s of group) push(items, JSON.stringify([s.dataSource, s.id]), s);
  const judged = group.filter((s) => s.judge !== null).map((s) => s.judge!);
  const passAtKs = ks.map((k) => {
    const per: number[] = [];
    for (const list of items.values()) {
      if (list.length < k) return null; // not estimable for this group
      per.push(passAtK(list.length, list.filter((s) => s.hybrid === 1).length, k));
    }
    return per.length === 0 ? null : mean(per);
  });
  return {
    kind,
    label,
    items: items.size,
    samples: group.length,
    rule: mean(group.map((s) => s.rule)),
    judge: judged.length === 0 ? null : mean(judged),
    hybrid: mean(group.map((s) => s.hybrid)),
    em: mean(group.map((s) => s.em)),
    f1: mean(group.map((s) => s.f1)),
    passAtK: passAtKs,
    responseTokens: mean(group.map((s) => s.responseTokens)),
    overlong: mean(group.map((s) => (s.overlong ? 1 : 0))),
  };
}

/**
 * The table as strings: a header and one row per EvalRow, scores as percentages with one decimal,
 * "-" where a value does not exist. Shared by the terminal, markdown and HTML renderings.
 */
export function evalTableCells(table: EvalTable): { header: string[]; rows: string[][]; numeric: boolean[] } {
  const pct = (x: number | null) => (x === null ? "-" : (100 * x).toFixed(1));
  const header = ["group", "items", "samples", "rule %", "judge %", "hybrid %", "EM %", "F1 %", ...table.ks.map((k) => `pass@${k} %`), "resp tok", "overlong %"];
  const rows = table.rows.map((r) => [
    r.kind === "length" ? `len ${r.label}` : r.label,
    String(r.items),
    String(r.samples),
    pct(r.rule),
    pct(r.judge),
    pct(r.hybrid),
    pct(r.em),
    pct(r.f1),
    ...r.passAtK.map(pct),
    r.responseTokens.toFixed(0),
    pct(r.overlong),
  ]);
  return { header, rows, numeric: header.map((_, i) => i > 0) };
}

/** Fixed-width text for the terminal: the title, a header, a rule under it, and a rule above "all". */
export function formatEvalTable(table: EvalTable, title: string): string {
  const { header, rows, numeric } = evalTableCells(table);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out = [title, line(header), rule];
  rows.forEach((r, i) => {
    if (table.rows[i]!.kind === "all" && i > 0) out.push(rule);
    out.push(line(r));
  });
  return `${out.join("\n")}\n`;
}

/** A GitHub-flavoured markdown table, under a "### title" heading when a title is given. */
export function evalTableMarkdown(table: EvalTable, title?: string): string {
  const { header, rows, numeric } = evalTableCells(table);
  const esc = (c: string) => c.replaceAll("|", "\\|");
  const out: string[] = [];
  if (title !== undefined) out.push(`### ${title}`, "");
  out.push(`| ${header.map(esc).join(" | ")} |`);
  out.push(`|${numeric.map((n) => (n ? " ---: " : " --- ")).join("|")}|`);
  for (const r of rows) out.push(`| ${r.map(esc).join(" | ")} |`);
  return `${out.join("\n")}\n`;
}
