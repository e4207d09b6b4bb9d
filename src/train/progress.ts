// Progress on stderr for long loops: a cli-progress bar on a terminal, else plain lines at most every N
// seconds (or steps), never a line per redraw; plus the end-of-run one-screen summary.
import cliProgress from "cli-progress";
import type { EvalTable } from "../eval/metrics.ts";
import type { StageSummary } from "./report.ts";

/** What the reporter writes to: process.stderr, or a capture in tests. */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** Caller-given figures shown after the counter, in insertion order: { reward: 0.51, "tok/s": 1234 }. */
export type ProgressFields = Record<string, number | string>;

export interface ProgressOptions {
  /** "sft", "rl phase 2", "eval after SFT". */
  label: string;
  total: number;
  /** The step already done when the loop starts (after --resume); rate and ETA count from here. */
  start?: number;
  /** What one step is called in the rate ("step", "item"). */
  unit?: string;
  stream?: ProgressStream;
  quiet?: boolean;
  env?: Record<string, string | undefined>;
  /** Plain mode: a line at most this often (seconds)... */
  plainEverySeconds?: number;
  /** ...or after this many steps (0: time only). The first and last step always get a line. */
  plainEverySteps?: number;
  /** Milliseconds clock (tests pass a fake one). */
  now?: () => number;
}

export interface Progress {
  readonly mode: "bar" | "plain";
  update(step: number, fields?: ProgressFields): void;
  /** Draw the final state and release the terminal line. */
  stop(): void;
}

/** The bar only on a terminal without NO_COLOR and without --quiet; plain lines otherwise (design.md §6). */
export function progressMode(stream: ProgressStream, quiet = false, env: Record<string, string | undefined> = process.env): "bar" | "plain" {
  return stream.isTTY === true && !quiet && (env.NO_COLOR ?? "") === "" ? "bar" : "plain";
}

/** 42s, 3m05s, 1h02m; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** 0.512, 12.3, 512, 1.2k, 3.4M: about three significant digits. */
export function formatValue(v: number | string): string {
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (Number.isInteger(v)) return String(v);
  return a >= 100 ? v.toFixed(1) : String(Number(v.toPrecision(3)));
}

function formatFields(fields: ProgressFields): string {
  return Object.entries(fields).map(([k, v]) => `${k} ${formatValue(v)}`).join(" | ");
}

/** "3.2 step/s" or "12.5 s/step" (whichever reads as a number above 1), and the ETA. */
function rateAndEta(done: number, elapsedS: number, remaining: number, unit: string): { rate: string; eta: string } {
  if (done <= 0 || elapsedS <= 0) return { rate: `- ${unit}/s`, eta: "?" };
  const perS = done / elapsedS;
  const rate = perS >= 1 ? `${formatValue(perS)} ${unit}/s` : `${formatValue(1 / perS)} s/${unit}`;
  return { rate, eta: formatDuration(remaining / perS) };
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const unit = opts.unit ?? "step";
  const start = opts.start ?? 0;
  const t0 = now();
  const mode = progressMode(stream, opts.quiet, opts.env);
  let step = start;
  let fields: ProgressFields = {};
  const stats = () => {
    const { rate, eta } = rateAndEta(step - start, (now() - t0) / 1000, opts.total - step, unit);
    const f = formatFields(fields);
    return `${f === "" ? "" : `${f} | `}${rate} | elapsed ${formatDuration((now() - t0) / 1000)} | eta ${eta}`;
  };

  if (mode === "bar") {
    const bar = new cliProgress.SingleBar(
      {
        stream: stream as NodeJS.WritableStream,
        format: "{label} {bar} {value}/{total} {percentage}% | {stats}",
        barsize: 24,
        hideCursor: false,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(opts.total, start, { label: opts.label, stats: stats() });
    return {
      mode,
      update(s, f) {
        step = s;
        if (f) fields = f;
        bar.update(s, { stats: stats() });
      },
      stop() {
        bar.update(step, { stats: stats() });
        bar.stop();
      },
    };
  }

  const everyMs = (opts.plainEverySeconds ?? 10) * 1000;
  const everySteps = opts.plainEverySteps ?? 0;
  let lastMs = -Infinity;
  let lastStep: number | undefined;
  const line = () => {
    const pct = opts.total > 0 ? ` (${Math.floor((100 * step) / opts.total)}%)` : "";
    stream.write(`${opts.label}: ${step}/${opts.total}${pct} | ${stats()}\n`);
    lastMs = now();
    lastStep = step;
  };
  return {
    mode,
    update(s, f) {
      step = s;
      if (f) fields = f;
      const due = lastStep === undefined || s >= opts.total || now() - lastMs >= everyMs || (everySteps > 0 && s - lastStep >= everySteps);
      if (due && s !== lastStep) line();
    },
    stop() {
      if (step !== lastStep) line();
    },
  };
}

export interface RunSummaryInput {
  wallSeconds: number;
  device?: string;
  runDir?: string;
  /** The report file, when one was written. */
  report?: string;
  /** Per stage: report.ts's stageSummaries (time: the sum of its step times; held-out loss checks and evals not included). */
  stages: ReadonlyArray<Pick<StageSummary, "label" | "steps" | "final" | "seconds">>;
  evals?: ReadonlyArray<{ label: string; table: EvalTable }>;
}

/** The end-of-run screen: per stage steps, time and final figures; per eval the "all" row; where the files are. */
export function formatRunSummary(s: RunSummaryInput): string {
  const out = [`longrl: run finished in ${formatDuration(s.wallSeconds)}${s.device ? ` on ${s.device}` : ""}`];
  if (s.stages.length > 0) {
    const w = Math.max(5, ...s.stages.map((st) => st.label.length));
    out.push("", `  ${"stage".padEnd(w)}  ${"steps".padStart(6)}  ${"time".padStart(7)}  final`);
    for (const st of s.stages) {
      const final = Object.entries(st.final).map(([k, v]) => `${k} ${formatValue(v)}`).join("  ");
      const time = st.seconds === undefined ? "-" : formatDuration(st.seconds);
      out.push(`  ${st.label.padEnd(w)}  ${String(st.steps).padStart(6)}  ${time.padStart(7)}  ${final}`);
    }
  }
  if (s.evals && s.evals.length > 0) {
    const w = Math.max(4, ...s.evals.map((e) => e.label.length));
    const ks = s.evals[0]!.table.ks;
    const cols = ["samples", "rule %", "judge %", "hybrid %", ...ks.map((k) => `pass@${k} %`)];
    out.push("", `  ${"eval".padEnd(w)}  ${cols.map((c) => c.padStart(9)).join("")}`);
    const pct = (x: number | null | undefined) => (x === null || x === undefined ? "-" : (100 * x).toFixed(1));
    for (const e of s.evals) {
      const all = e.table.rows.find((r) => r.kind === "all");
      const cells = all
        ? [String(all.samples), pct(all.rule), pct(all.judge), pct(all.hybrid), ...ks.map((k) => pct(all.passAtK[e.table.ks.indexOf(k)]))]
        : cols.map(() => "-");
      out.push(`  ${e.label.padEnd(w)}  ${cells.map((c) => c.padStart(9)).join("")}`);
    }
  }
  if (s.runDir || s.report) out.push("");
  if (s.runDir) out.push(`  run dir  ${s.runDir}`);
  if (s.report) out.push(`  report   ${s.report}`);
  return `${out.join("\n")}\n`;
}
