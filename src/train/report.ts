// Run report: metrics.jsonl -> report.html (inline SVG curves, eval tables, run meta) and summary.md.
// Self-contained on purpose (no scripts, fonts or CSS from the network) and no plotting library: plain SVG.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { evalTableCells, evalTableMarkdown, type EvalRow, type EvalTable } from "../eval/metrics.ts";
import { usageError } from "../util/errors.ts";
import { formatDuration } from "./progress.ts";

/** One line of metrics.jsonl: at least stage and global step; phase on RL lines; numeric fields beside. */
export interface MetricsLine {
  stage: string;
  step: number;
  phase?: number;
  [field: string]: unknown;
}

export interface EvalResult {
  /** "before SFT", "after SFT", "after phase 1", ..., or MID_EVAL_PREFIX + global step within an RL phase. */
  label: string;
  /** The global step the evaluated model was trained to (absent in eval files written before it was recorded). */
  step?: number;
  table: EvalTable;
}

/** Label prefix of the evals within an RL phase (eval.rlInterval); the report lists them in one compact table. */
export const MID_EVAL_PREFIX = "rl step ";

function isMidEval(e: EvalResult): boolean {
  return e.label.startsWith(MID_EVAL_PREFIX);
}

/** Per eval with a step, in step order: its "all" row and its row of the longest length bucket any of them has. */
function evalsByStep(evals: readonly EvalResult[]): { longest?: string; xs: Array<{ e: EvalResult; step: number; all: EvalRow; last?: EvalRow }> } {
  const withStep = evals.filter((e): e is EvalResult & { step: number } => typeof e.step === "number" && e.table.rows.some((r) => r.kind === "all"));
  const lengthLabels = (e: EvalResult) => e.table.rows.filter((r) => r.kind === "length").map((r) => r.label);
  // Buckets come in increasing order; the evals of one run score the same items, so the table with the most
  // buckets holds them all, and its last is the longest.
  const longest = withStep.map(lengthLabels).reduce<string[]>((a, b) => (b.length > a.length ? b : a), []).at(-1);
  const xs = withStep
    .map((e) => ({ e, step: e.step, all: e.table.rows.find((r) => r.kind === "all")!, last: e.table.rows.find((r) => r.kind === "length" && r.label === longest) }))
    .sort((a, b) => a.step - b.step);
  return { longest, xs };
}

/** The compact table of the evals by step: hybrid, EM, the largest pass@k and the longest bucket, in %. */
function evalStepTable(evals: readonly EvalResult[]): { header: string[]; rows: string[][] } | null {
  const { longest, xs } = evalsByStep(evals);
  if (!xs.some((x) => isMidEval(x.e))) return null;
  const k = xs[0]!.e.table.ks.at(-1);
  const pct = (v: number | null | undefined) => (v === null || v === undefined ? "-" : (100 * v).toFixed(1));
  const header = ["step", "eval", "hybrid %", "EM %", `pass@${k} %`, ...(longest ? [`${longest} hybrid %`] : [])];
  const rows = xs.map((x) => [String(x.step), x.e.label, pct(x.all.hybrid), pct(x.all.em), pct(x.all.passAtK.at(-1)), ...(longest ? [pct(x.last?.hybrid)] : [])]);
  return { header, rows };
}

export interface ReportMeta {
  title?: string;
  device?: string;
  wallSeconds?: number;
  /** The resolved config (or a summary of it); nested objects are shown as dotted keys. */
  config?: Record<string, unknown>;
}

// One row per plot: a new curve is one line here. `stage` keeps the stages' fields of the same name apart.
const PLOTS = [
  { key: "reward_mean", title: "reward (mean)", stage: "rl" },
  { key: "accuracy", title: "accuracy", stage: "rl" },
  { key: "entropy", title: "entropy", stage: "rl" },
  { key: "clip_frac", title: "clip fraction", stage: "rl" },
  { key: "response_len_mean", title: "response length (tokens)", stage: "rl" },
  { key: "kl", title: "KL to reference", stage: "rl" },
  { key: "loss", title: "pretraining (copy) loss", stage: "pretrain" },
  { key: "eval_loss", title: "pretraining held-out loss", stage: "pretrain" },
  { key: "loss", title: "SFT loss", stage: "sft" },
  { key: "eval_loss", title: "SFT held-out loss", stage: "sft" },
] as const;

// The fields summary.md and the end-of-run summary report as "final" values.
const FINAL_KEYS = ["loss", "eval_loss", "reward_mean", "accuracy", "entropy", "clip_frac", "response_len_mean", "kl", "tokens_per_s"];

/** Parse metrics.jsonl. A last line that is not valid JSON (a crash mid-write) is skipped; any other bad line is an error. */
export function readMetrics(path: string): MetricsLine[] {
  if (!existsSync(path)) throw usageError(`${path}: no such file; is this a run directory that has trained?`);
  const lines = readFileSync(path, "utf8").split("\n");
  let last = lines.length - 1;
  while (last >= 0 && lines[last]!.trim() === "") last--;
  const out: MetricsLine[] = [];
  for (let i = 0; i <= last; i++) {
    const text = lines[i]!.trim();
    if (text === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      if (i === last) break; // truncated by a crash: drop it
      throw usageError(`${path}:${i + 1}: not valid JSON; remove or repair the line`);
    }
    const o = v as Record<string, unknown>;
    if (typeof v !== "object" || v === null || Array.isArray(v) || typeof o.stage !== "string" || typeof o.step !== "number") {
      throw usageError(`${path}:${i + 1}: a metrics line must be an object with "stage" (string) and "step" (number)`);
    }
    out.push(o as MetricsLine);
  }
  return out;
}

export interface StageSummary {
  /** "sft", "rl phase 2", or the stage name. */
  label: string;
  steps: number;
  firstStep: number;
  lastStep: number;
  /** The last finite value of each FINAL_KEYS field seen in this stage. */
  final: Record<string, number>;
  /** Sum of the stage's step times (`seconds`; a step logged twice, as around a resume, counts once); held-out loss checks and evals not included. */
  seconds?: number;
}

/** One summary per stage (and RL phase), in order of first appearance. */
export function stageSummaries(metrics: readonly MetricsLine[]): StageSummary[] {
  const groups = new Map<string, StageSummary & { seen: Map<number, number | undefined> }>();
  for (const m of metrics) {
    const label = m.stage === "rl" && typeof m.phase === "number" ? `rl phase ${m.phase}` : m.stage;
    let g = groups.get(label);
    if (!g) {
      g = { label, steps: 0, firstStep: m.step, lastStep: m.step, final: {}, seen: new Map() };
      groups.set(label, g);
    }
    g.seen.set(m.step, isNum(m.seconds) ? (m.seconds as number) : undefined);
    g.steps = g.seen.size;
    g.firstStep = Math.min(g.firstStep, m.step);
    g.lastStep = Math.max(g.lastStep, m.step);
    for (const k of FINAL_KEYS) if (isNum(m[k])) g.final[k] = m[k] as number;
  }
  return [...groups.values()].map(({ seen, ...s }) => {
    const times = [...seen.values()];
    return times.every((t) => t !== undefined) ? { ...s, seconds: times.reduce((a, t) => a + t!, 0) } : s;
  });
}

/** Write report.html, summary.md and each plot of the report as its own SVG file (plots/NAME.svg, for a README or
 *  slides) into runDir; returns their paths. */
export function writeReport(runDir: string, metrics: readonly MetricsLine[], evals: readonly EvalResult[], meta: ReportMeta = {}): { html: string; md: string; plots: string[] } {
  mkdirSync(runDir, { recursive: true });
  const html = join(runDir, "report.html");
  const md = join(runDir, "summary.md");
  const plots = reportPlots(metrics, evals);
  writeFileSync(html, reportHtml(metrics, evals, meta, plots));
  writeFileSync(md, summaryMarkdown(metrics, evals, meta));
  const dir = join(runDir, "plots");
  if (plots.length > 0) mkdirSync(dir, { recursive: true });
  const files = plots.map((p) => {
    const f = join(dir, `${plotFileName(p.title)}.svg`);
    writeFileSync(f, standaloneSvg(p.svg));
    return f;
  });
  return { html, md, plots: files };
}

/** A plot's file name: its title in lower case, each run of other characters than a-z and 0-9 one hyphen
 *  ("held-out hybrid accuracy, 385–512" -> "held-out-hybrid-accuracy-385-512"). */
export function plotFileName(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/** An SVG of the report that opens on its own: the namespace and the plot styles the report's page gives it. */
export function standaloneSvg(svg: string): string {
  const open = svg.indexOf(">");
  if (!svg.startsWith("<svg ") || open < 0) throw new Error("standaloneSvg: not an <svg> element");
  return `<svg xmlns="http://www.w3.org/2000/svg" ${svg.slice(5, open + 1)}<style>${PLOT_CSS}</style>\n${svg.slice(open + 1)}\n`;
}

export function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

/** A number for a label: integers as is, others to 4 significant digits without trailing zeros. */
function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

type Point = [number, number];

/** The finite values of one field over steps (the last line wins for a repeated step, as after --resume). */
function series(metrics: readonly MetricsLine[], key: string, stage: string): Point[] {
  const byStep = new Map<number, number>();
  for (const m of metrics) if (m.stage === stage && isNum(m[key])) byStep.set(m.step, m[key] as number);
  return [...byStep].sort((a, b) => a[0] - b[0]);
}

/** Held-out accuracy over steps, from the evals that know their step (plotted when there are two or more). */
function evalSeries(evals: readonly EvalResult[]): Array<{ title: string; pts: Point[] }> {
  const { longest, xs } = evalsByStep(evals);
  if (xs.length < 2) return [];
  const out = [{ title: "held-out hybrid accuracy", pts: xs.map((x): Point => [x.step, x.all.hybrid]) }];
  const inLongest = xs.filter((x) => x.last);
  if (longest && inLongest.length >= 2) out.push({ title: `held-out hybrid accuracy, ${longest}`, pts: inLongest.map((x): Point => [x.step, x.last!.hybrid]) });
  return out;
}

/** Where each RL phase starts: the first step of a phase number different from the previous line's. */
function phaseMarkers(metrics: readonly MetricsLine[]): Array<{ step: number; label: string }> {
  const rl = metrics.filter((m) => m.stage === "rl" && typeof m.phase === "number").sort((a, b) => a.step - b.step);
  const out: Array<{ step: number; label: string }> = [];
  let prev: number | undefined;
  for (const m of rl) {
    if (m.phase !== prev) out.push({ step: m.step, label: `phase ${m.phase}` });
    prev = m.phase;
  }
  return out;
}

/** About `count` round tick values (1, 2 or 5 times a power of ten apart, at least minStep) in [lo, hi];
 *  with `outward`, the first and last tick lie at or beyond lo and hi, so an axis can end on them. */
function niceTicks(lo: number, hi: number, count: number, minStep = 0, outward = false): number[] {
  const raw = Math.max((hi - lo) / count, minStep);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  const first = (outward ? Math.floor(lo / step + 1e-9) : Math.ceil(lo / step - 1e-9)) * step;
  const last = (outward ? Math.ceil(hi / step - 1e-9) : Math.floor(hi / step + 1e-9)) * step;
  const ticks: number[] = [];
  for (let i = 0; first + i * step <= last + step * 1e-9; i++) ticks.push(Number((first + i * step).toPrecision(12)));
  return ticks;
}

/** Pad a degenerate range (one value) so the scale is defined. */
function span(lo: number, hi: number): [number, number] {
  if (hi > lo) return [lo, hi];
  const d = Math.abs(lo) * 0.1 || 1;
  return [lo - d, hi + d];
}

const W = 520;
const H = 240;
const M = { left: 60, right: 16, top: 30, bottom: 38 };

/** One line plot over step with axes, tick labels and dashed phase markers. */
function linePlot(title: string, pts: readonly Point[], markers: ReadonlyArray<{ step: number; label: string }>): string {
  const [x0, x1] = span(pts[0]![0], pts[pts.length - 1]![0]);
  const [ylo, yhi] = span(Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1])));
  const yTicks = niceTicks(ylo, yhi, 5, 0, true);
  const y0 = yTicks[0]!;
  const y1 = yTicks[yTicks.length - 1]!;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const sy = (y: number) => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const r = (v: number) => v.toFixed(1);
  const parts: string[] = [];
  parts.push(`<text x="${M.left}" y="15" class="title">${escapeHtml(title)} <tspan class="last">last ${fmt(pts[pts.length - 1]![1])}</tspan></text>`);
  for (const t of yTicks) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${r(sy(t))}" y2="${r(sy(t))}" class="grid"/>`);
    parts.push(`<text x="${M.left - 6}" y="${r(sy(t) + 4)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1, 6, 1)) { // steps are integers
    parts.push(`<line x1="${r(sx(t))}" x2="${r(sx(t))}" y1="${H - M.bottom}" y2="${H - M.bottom + 4}" class="axis"/>`);
    parts.push(`<text x="${r(sx(t))}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" class="axis"/>`);
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" class="axis"/>`);
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 4}" text-anchor="middle">step</text>`);
  for (const mk of markers) {
    if (mk.step < x0 || mk.step > x1) continue;
    const x = r(sx(mk.step));
    parts.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${H - M.bottom}" class="phase"/>`);
    parts.push(`<text x="${x}" y="${M.top - 2}" text-anchor="middle" class="phase-label">${escapeHtml(mk.label)}</text>`);
  }
  if (pts.length === 1) parts.push(`<circle cx="${r(sx(pts[0]![0]))}" cy="${r(sy(pts[0]![1]))}" r="3" class="dot"/>`);
  else parts.push(`<path d="${pts.map((p, i) => `${i === 0 ? "M" : "L"}${r(sx(p[0]))} ${r(sy(p[1]))}`).join(" ")}" class="line"/>`);
  return `<svg class="plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title)}">\n${parts.join("\n")}\n</svg>`;
}

/** Nested config as dotted keys and printable values. */
function flatten(obj: Record<string, unknown>, prefix = ""): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === "" ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) out.push(...flatten(v as Record<string, unknown>, key));
    else out.push([key, typeof v === "string" ? v : JSON.stringify(v) ?? String(v)]);
  }
  return out;
}

function htmlTable(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[] = []): string {
  const cell = (tag: string, c: string, i: number) => `<${tag}${numeric[i] ? ' class="num"' : ""}>${escapeHtml(c)}</${tag}>`;
  const head = `<tr>${header.map((h, i) => cell("th", h, i)).join("")}</tr>`;
  return `<table>\n${head}\n${rows.map((r) => `<tr>${r.map((c, i) => cell("td", c, i)).join("")}</tr>`).join("\n")}\n</table>`;
}

const PLOT_CSS = `svg.plot{border:1px solid #ddd;background:#fff;font-size:11px}
svg .title{font-size:13px;font-weight:600} svg .last{font-weight:400;fill:#666}
svg .grid{stroke:#eee} svg .axis{stroke:#444} svg .line{fill:none;stroke:#1f77b4;stroke-width:1.5} svg .dot{fill:#1f77b4}
svg .phase{stroke:#d62728;stroke-dasharray:4 3} svg .phase-label{fill:#d62728;font-size:10px}`;

const CSS = `body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1150px}
.plots{display:flex;flex-wrap:wrap;gap:12px}
${PLOT_CSS}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:13px} td,th{border:1px solid #ccc;padding:2px 8px} .num{text-align:right}`;

/** The report's plots: each metric present in the lines, then held-out accuracy over the evals' steps. */
function reportPlots(metrics: readonly MetricsLine[], evals: readonly EvalResult[]): Array<{ title: string; svg: string }> {
  const markers = phaseMarkers(metrics);
  return PLOTS.map((p) => ({ title: p.title as string, pts: series(metrics, p.key, p.stage) }))
    .concat(evalSeries(evals))
    .filter((x) => x.pts.length > 0)
    .map((x) => ({ title: x.title, svg: linePlot(x.title, x.pts, markers) }));
}

export function reportHtml(metrics: readonly MetricsLine[], evals: readonly EvalResult[], meta: ReportMeta, figures = reportPlots(metrics, evals)): string {
  const title = `longrl report${meta.title ? `: ${meta.title}` : ""}`;
  const plots = figures.map((p) => p.svg);
  const body: string[] = [`<h1>${escapeHtml(title)}</h1>`, "<h2>Training curves</h2>"];
  body.push(plots.length > 0 ? `<div class="plots">\n${plots.join("\n")}\n</div>` : "<p>No training metrics recorded.</p>");
  body.push("<h2>Evaluation</h2>");
  if (evals.length === 0) body.push("<p>No evaluation results.</p>");
  const byStep = evalStepTable(evals);
  if (byStep) body.push("<h3>by step</h3>", htmlTable(byStep.header, byStep.rows, byStep.header.map((_, i) => i !== 1)));
  for (const e of evals.filter((x) => !isMidEval(x))) {
    const { header, rows, numeric } = evalTableCells(e.table);
    body.push(`<h3>${escapeHtml(e.label)}</h3>`, htmlTable(header, rows, numeric));
  }
  body.push("<h2>Run</h2>", htmlTable(["field", "value"], metaRows(metrics, meta)));
  return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n<style>\n${CSS}\n</style>\n</head>\n<body>\n${body.join("\n")}\n</body>\n</html>\n`;
}

function metaRows(metrics: readonly MetricsLine[], meta: ReportMeta): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  if (meta.device !== undefined) rows.push(["device", meta.device]);
  if (meta.wallSeconds !== undefined) rows.push(["wall time", formatDuration(meta.wallSeconds)]);
  for (const s of stageSummaries(metrics)) rows.push([s.label, `${s.steps} steps (step ${s.firstStep}–${s.lastStep})`]);
  if (meta.config) rows.push(...flatten(meta.config).map(([k, v]): [string, string] => [`config ${k}`, v]));
  return rows;
}

export function summaryMarkdown(metrics: readonly MetricsLine[], evals: readonly EvalResult[], meta: ReportMeta): string {
  const out = [`# longrl run${meta.title ? `: ${meta.title}` : ""}`, ""];
  if (meta.device !== undefined) out.push(`- device: ${meta.device}`);
  if (meta.wallSeconds !== undefined) out.push(`- wall time: ${formatDuration(meta.wallSeconds)}`);
  const stages = stageSummaries(metrics);
  const keys = FINAL_KEYS.filter((k) => stages.some((s) => k in s.final));
  out.push("", "## Final training figures", "");
  if (stages.length === 0) out.push("No training metrics recorded.");
  else {
    out.push(`| stage | steps | last step | ${keys.join(" | ")} |`, `| --- | ---: | ---: |${keys.map(() => " ---: |").join("")}`);
    for (const s of stages) out.push(`| ${s.label} | ${s.steps} | ${s.lastStep} | ${keys.map((k) => (k in s.final ? fmt(s.final[k]!) : "-")).join(" | ")} |`);
  }
  out.push("", "## Evaluation", "");
  if (evals.length === 0) out.push("No evaluation results.");
  const byStep = evalStepTable(evals);
  if (byStep) {
    out.push("### by step", "", `| ${byStep.header.join(" | ")} |`, `|${byStep.header.map((_, i) => (i === 1 ? " --- |" : " ---: |")).join("")}`);
    for (const r of byStep.rows) out.push(`| ${r.join(" | ")} |`);
    out.push("");
  }
  for (const e of evals.filter((x) => !isMidEval(x))) out.push(evalTableMarkdown(e.table, e.label));
  return `${out.join("\n").trimEnd()}\n`;
}
