// Run report: metrics.jsonl reading (truncated last line), report.html (one SVG per present metric, phase
// markers, escaping, nothing fetched from the network), each plot as its own SVG file, and summary.md.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { aggregateEval, type EvalSample } from "../../src/eval/metrics.ts";
import { escapeHtml, plotFileName, readMetrics, stageSummaries, writeReport, type MetricsLine } from "../../src/train/report.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "longrl-report-"));
  dirs.push(d);
  return d;
}

/** 4 SFT steps, then RL phase 1 (steps 5-7) and phase 2 (steps 8-10); kl never logged; one NaN entropy. */
function sampleMetrics(): MetricsLine[] {
  const lines: MetricsLine[] = [];
  for (let s = 1; s <= 4; s++) lines.push({ stage: "sft", step: s, loss: 2 / s, lr: 1e-5 });
  for (let s = 5; s <= 10; s++) {
    lines.push({
      stage: "rl", phase: s <= 7 ? 1 : 2, step: s, reward_mean: s / 10, accuracy: s / 20,
      entropy: s === 6 ? Number.NaN : 0.5, clip_frac: 0.01, response_len_mean: 100 + s, loss: 0.1,
    });
  }
  return lines;
}

function evalTable(hybrid: number) {
  const samples: EvalSample[] = [
    { id: "1", dataSource: "<musique>", promptTokens: 900, rule: hybrid, judge: null, hybrid, em: 0, f1: 0.5, responseTokens: 40 },
  ];
  return aggregateEval(samples, { bucketEdges: [1024], ks: [1] });
}

describe("readMetrics", () => {
  test("skips a truncated last line, keeps the rest", () => {
    const d = tempDir();
    const p = join(d, "metrics.jsonl");
    writeFileSync(p, `${JSON.stringify({ stage: "sft", step: 1, loss: 1 })}\n${JSON.stringify({ stage: "sft", step: 2, loss: 0.5 })}\n{"stage":"sft","st`);
    const m = readMetrics(p);
    expect(m).toHaveLength(2);
    expect(m[1]!.loss).toBe(0.5);
  });

  test("a bad line in the middle names the file and line", () => {
    const d = tempDir();
    const p = join(d, "metrics.jsonl");
    writeFileSync(p, `{"stage":"sft","step":1}\n{oops\n{"stage":"sft","step":2}\n\n`);
    expect(() => readMetrics(p)).toThrow(/metrics\.jsonl:2: not valid JSON/);
    writeFileSync(p, `{"stage":"sft"}\n`);
    expect(() => readMetrics(p)).toThrow(/metrics\.jsonl:1: .*"step"/);
    expect(() => readMetrics(join(d, "missing.jsonl"))).toThrow(/no such file/);
  });
});

describe("writeReport", () => {
  test("report.html: one svg per present metric, phase markers, escaped text, offline", () => {
    const d = tempDir();
    const evals = [
      { label: "before SFT <b>", table: evalTable(0) },
      { label: "after phase 2", table: evalTable(1) },
    ];
    const { html, md, plots } = writeReport(d, sampleMetrics(), evals, {
      title: "demo & <test>", device: "llvmpipe", wallSeconds: 3725, config: { rl: { clipHigh: 0.28, note: "<script>alert(1)</script>" } },
    });
    const text = readFileSync(html, "utf8");
    // reward, accuracy, entropy, clip fraction, response length, SFT loss; kl absent from every line
    expect(text.match(/<svg/g)).toHaveLength(6);
    expect(text).not.toContain("KL to reference");
    expect(text).toContain("SFT loss");
    // phase markers: 5 RL plots x 2 phases (the SFT loss plot's range holds none)
    expect(text.match(/class="phase-label">phase 1</g)).toHaveLength(5);
    expect(text.match(/class="phase-label">phase 2</g)).toHaveLength(5);
    expect(text).toContain("demo &amp; &lt;test&gt;");
    expect(text).toContain("before SFT &lt;b&gt;");
    expect(text).toContain("&lt;musique&gt;");
    expect(text).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(text).not.toContain("<script");
    expect(text).not.toMatch(/https?:\/\//);
    expect(text).not.toContain("NaN");
    expect(text).toContain("1h02m");
    expect(text).toContain("config rl.clipHigh");

    // each plot also as its own file: the report's svg with the namespace and the plot styles, named by its title
    expect(plots.map((f) => basename(f))).toEqual(["reward-mean.svg", "accuracy.svg", "entropy.svg", "clip-fraction.svg", "response-length-tokens.svg", "sft-loss.svg"]);
    const inPage = text.match(/<svg class="plot"[\s\S]*?<\/svg>/g)!;
    plots.forEach((f, i) => {
      const svg = readFileSync(f, "utf8");
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" class="plot" ')).toBe(true);
      expect(svg).toContain("svg .phase-label{");
      expect(svg.replace(' xmlns="http://www.w3.org/2000/svg"', "").replace(/<style>[^<]*<\/style>\n/, "").trimEnd()).toBe(inPage[i]);
    });

    const summary = readFileSync(md, "utf8");
    expect(summary).toContain("### after phase 2");
    expect(summary).toMatch(/\| group \| items \| samples \| rule % \|/);
    expect(summary).toMatch(/\| all \| 1 \| 1 \| 100\.0 \|/);
    expect(summary).toContain("| rl phase 2 | 3 | 10 |");
    expect(summary).toContain("| sft | 4 | 4 | 0.5 |");
  });

  test("no metrics and no evals still writes both files", () => {
    const d = tempDir();
    const { html, md, plots } = writeReport(d, [], [], {});
    expect(readFileSync(html, "utf8")).toContain("No training metrics recorded.");
    expect(readFileSync(md, "utf8")).toContain("No evaluation results.");
    expect(plots).toEqual([]);
    expect(existsSync(join(d, "plots"))).toBe(false);
  });

  test("plot file names: the title in lower case, other characters one hyphen", () => {
    expect(plotFileName("held-out hybrid accuracy, 385–512")).toBe("held-out-hybrid-accuracy-385-512");
    expect(plotFileName("response length (tokens)")).toBe("response-length-tokens");
    expect(plotFileName("KL to reference")).toBe("kl-to-reference");
  });

  test("a single point becomes a dot, a repeated step keeps the last value", () => {
    const d = tempDir();
    const m: MetricsLine[] = [{ stage: "rl", phase: 1, step: 3, kl: 0.5 }, { stage: "rl", phase: 1, step: 3, kl: 0.25 }];
    const text = readFileSync(writeReport(d, m, [], {}).html, "utf8");
    expect(text.match(/<svg/g)).toHaveLength(1);
    expect(text).toContain("<circle");
    expect(text).toContain("last 0.25");
  });
});

test("stageSummaries: one per stage and phase, last finite values", () => {
  const s = stageSummaries(sampleMetrics());
  expect(s.map((x) => x.label)).toEqual(["sft", "rl phase 1", "rl phase 2"]);
  expect(s[0]!.final.loss).toBe(0.5);
  expect(s[1]!.final.entropy).toBe(0.5);
  expect(s[2]!.steps).toBe(3);
  expect(s.every((x) => x.seconds === undefined)).toBe(true); // no step times logged: no stage time
  // Step times add up per stage; a step logged twice (before and after a resume) counts once, with its last time.
  const timed = stageSummaries([{ stage: "sft", step: 1, seconds: 2 }, { stage: "sft", step: 2, seconds: 3 }, { stage: "sft", step: 2, seconds: 4 }, { stage: "rl", phase: 1, step: 3, seconds: 10 }]);
  expect(timed.map((x) => [x.label, x.seconds])).toEqual([["sft", 6], ["rl phase 1", 10]]);
  expect(escapeHtml(`a<b>&"'`)).toBe("a&lt;b&gt;&amp;&quot;&#39;");
});
