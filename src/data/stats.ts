// Dataset statistics for `longrl data stats`: counts per data_source and category, a prompt-token histogram,
// and the curriculum phase each record falls in (phase k holds L(k-1) < prompt tokens <= L(k); design.md §5).
import { usageError } from "../util/errors.ts";
import type { Tokenizer } from "../tokenizer/index.ts";
import { promptTokens } from "./prompt.ts";
import type { DocRecord } from "./record.ts";

export interface PhaseCount {
  /** 1-based phase number, or "over" for records longer than the last phase's limit. */
  phase: number | "over";
  lo: number;
  /** Inclusive upper limit; null for "over". */
  hi: number | null;
  count: number;
}

export interface DataStats {
  records: number;
  tokenizer: string;
  bySource: Record<string, number>;
  byCategory: Record<string, number>;
  tokens: { min: number; max: number; mean: number; median: number };
  histogram: Array<{ lo: number; hi: number; count: number }>;
  phases: PhaseCount[];
  perRecord: Array<{ id: string; dataSource: string; promptTokens: number; phase: number | "over" }>;
}

/** Parse "2000,8000": strictly increasing positive integers. */
export function parsePhases(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const out = parts.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) <= 0) throw usageError(`--phases: '${p}' is not a positive integer token limit (e.g. --phases 20000,60000)`);
    return Number(p);
  });
  if (out.length === 0) throw usageError("--phases is empty; give the phases' max prompt tokens, e.g. --phases 20000,60000");
  out.forEach((v, i) => {
    if (i > 0 && v <= out[i - 1]!) throw usageError(`--phases must increase: ${out[i - 1]} then ${v}`);
  });
  return out;
}

/** The 1-based phase whose range holds `tokens`, or "over". */
export function phaseOf(tokens: number, limits: readonly number[]): number | "over" {
  const k = limits.findIndex((l) => tokens <= l);
  return k < 0 ? "over" : k + 1;
}

/** 1, 2 or 5 times a power of ten, at least x. */
function niceStep(x: number): number {
  if (x <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export function computeStats(records: readonly DocRecord[], tok: Tokenizer, limits: readonly number[], bins = 10): DataStats {
  const bySource: Record<string, number> = {};
  const byCategory: Record<string, number> = {};
  const lens: number[] = [];
  const perRecord: DataStats["perRecord"] = [];
  for (const r of records) {
    bySource[r.dataSource] = (bySource[r.dataSource] ?? 0) + 1;
    byCategory[r.category] = (byCategory[r.category] ?? 0) + 1;
    const t = promptTokens(r, tok);
    lens.push(t);
    perRecord.push({ id: r.id, dataSource: r.dataSource, promptTokens: t, phase: phaseOf(t, limits) });
  }
  const sorted = lens.slice().sort((a, b) => a - b);
  const min = sorted[0] ?? 0;
  const max = sorted[sorted.length - 1] ?? 0;
  const step = niceStep((max - min + 1) / bins);
  const start = Math.floor(min / step) * step;
  const histogram: DataStats["histogram"] = [];
  for (let lo = start; lo <= max; lo += step) histogram.push({ lo, hi: lo + step - 1, count: 0 });
  for (const t of lens) histogram[Math.floor((t - start) / step)]!.count++;
  const phases: PhaseCount[] = limits.map((hi, i) => ({ phase: i + 1, lo: i === 0 ? 0 : limits[i - 1]!, hi, count: 0 }));
  phases.push({ phase: "over", lo: limits[limits.length - 1] ?? 0, hi: null, count: 0 });
  for (const p of perRecord) phases[p.phase === "over" ? phases.length - 1 : p.phase - 1]!.count++;
  const mid = sorted.length >> 1;
  const median = sorted.length === 0 ? 0 : sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const mean = lens.length === 0 ? 0 : lens.reduce((s, x) => s + x, 0) / lens.length;
  return {
    records: records.length,
    tokenizer: tok.name,
    bySource,
    byCategory,
    tokens: { min, max, mean, median },
    histogram,
    phases,
    perRecord,
  };
}

/** The human-readable report: counts, the histogram as bars, and the phase table. */
export function formatStats(s: DataStats, title: string): string {
  const lines: string[] = [`${title}: ${s.records} records, prompt tokens (${s.tokenizer}) min ${s.tokens.min}, median ${s.tokens.median}, mean ${s.tokens.mean.toFixed(1)}, max ${s.tokens.max}`];
  const table = (name: string, counts: Record<string, number>) => {
    lines.push("", name);
    const keys = Object.keys(counts).sort();
    const w = Math.max(...keys.map((k) => k.length));
    for (const k of keys) lines.push(`  ${k.padEnd(w)}  ${String(counts[k]).padStart(6)}`);
  };
  table("by data_source", s.bySource);
  table("by category", s.byCategory);
  lines.push("", "prompt tokens");
  const peak = Math.max(1, ...s.histogram.map((b) => b.count));
  const w = String(s.histogram[s.histogram.length - 1]?.hi ?? 0).length;
  for (const b of s.histogram) {
    const bar = "#".repeat(Math.round((b.count / peak) * 40));
    lines.push(`  ${String(b.lo).padStart(w)}-${String(b.hi).padEnd(w)}  ${String(b.count).padStart(6)}  ${bar}`);
  }
  lines.push("", "curriculum phases (L(k-1) < prompt tokens <= L(k))");
  for (const p of s.phases) {
    const range = p.hi === null ? `> ${p.lo}` : `${p.lo} < t <= ${p.hi}`;
    lines.push(`  ${p.phase === "over" ? "over   " : `phase ${p.phase}`}  ${range.padEnd(24)}  ${String(p.count).padStart(6)}`);
  }
  return `${lines.join("\n")}\n`;
}
