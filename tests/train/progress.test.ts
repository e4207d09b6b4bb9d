// Progress reporter: mode choice, throttled plain lines with rate and ETA, the cli-progress bar on a
// fake terminal, and the end-of-run summary.
import { describe, expect, test } from "bun:test";
import { aggregateEval } from "../../src/eval/metrics.ts";
import { createProgress, formatDuration, formatRunSummary, formatValue, progressMode } from "../../src/train/progress.ts";

function capture(isTTY = false) {
  const chunks: string[] = [];
  return { isTTY, chunks, columns: 200, write: (s: string) => chunks.push(s) };
}

describe("progress", () => {
  test("bar only on a TTY without NO_COLOR or quiet", () => {
    expect(progressMode({ write: () => 0, isTTY: true }, false, {})).toBe("bar");
    expect(progressMode({ write: () => 0, isTTY: false }, false, {})).toBe("plain");
    expect(progressMode({ write: () => 0, isTTY: true }, false, { NO_COLOR: "1" })).toBe("plain");
    expect(progressMode({ write: () => 0, isTTY: true }, true, {})).toBe("plain");
  });

  test("plain mode: a line on the first step, then at most every N seconds, and the last step", () => {
    const out = capture();
    let t = 0;
    const p = createProgress({ label: "rl phase 1", total: 100, stream: out, env: {}, plainEverySeconds: 10, now: () => t });
    for (let s = 1; s <= 100; s++) {
      t += 1000; // one step per second
      p.update(s, { reward: 0.5123, "tok/s": 12345 });
    }
    p.stop();
    const lines = out.chunks.join("").trimEnd().split("\n");
    // step 1, then every 10 s (11, 21, ..., 91), then 100
    expect(lines).toHaveLength(11);
    expect(lines[0]).toContain("rl phase 1: 1/100 (1%)");
    expect(lines[0]).toContain("reward 0.512 | tok/s 12.3k");
    expect(lines[10]).toContain("100/100 (100%)");
    expect(lines[5]).toMatch(/1 step\/s \| elapsed 51s \| eta 49s$/);
  });

  test("plain mode: every N steps, slow steps as s/step, stop prints the final step once", () => {
    const out = capture();
    let t = 0;
    const p = createProgress({ label: "sft", total: 10, start: 2, stream: out, env: {}, plainEverySeconds: 1e9, plainEverySteps: 4, now: () => t });
    for (let s = 3; s <= 8; s++) {
      t += 20_000;
      p.update(s);
    }
    p.stop();
    p.stop();
    const lines = out.chunks.join("").trimEnd().split("\n");
    expect(lines.map((l) => l.split(" |")[0])).toEqual(["sft: 3/10 (30%)", "sft: 7/10 (70%)", "sft: 8/10 (80%)"]);
    expect(lines[2]).toContain("20 s/step");
    expect(lines[2]).toContain("eta 40s");
  });

  test("bar mode draws through cli-progress on a terminal stream", () => {
    const out = capture(true);
    const p = createProgress({ label: "eval", total: 4, unit: "item", stream: out, env: {} });
    expect(p.mode).toBe("bar");
    p.update(4, { acc: 0.75 });
    p.stop();
    const text = out.chunks.join("");
    expect(text).toContain("4/4");
    expect(text).toContain("acc 0.75");
  });

  test("formatting helpers", () => {
    expect(formatDuration(5)).toBe("5.0s");
    expect(formatDuration(185)).toBe("3m05s");
    expect(formatDuration(3725)).toBe("1h02m");
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe("?");
    expect(formatValue(0.51234)).toBe("0.512");
    expect(formatValue(2_500_000)).toBe("2.5M");
    expect(formatValue(512)).toBe("512");
  });
});

test("formatRunSummary: stages, the eval 'all' rows, paths", () => {
  const table = aggregateEval(
    [
      { id: "a", dataSource: "musique", promptTokens: 10, rule: 0, judge: 1, hybrid: 1, em: 0, f1: 0, responseTokens: 5 },
      { id: "a", dataSource: "musique", promptTokens: 10, rule: 0, judge: 0, hybrid: 0, em: 0, f1: 0, responseTokens: 5 },
    ],
    { ks: [1, 2] },
  );
  const text = formatRunSummary({
    wallSeconds: 3725,
    device: "H100",
    runDir: "runs/demo",
    report: "runs/demo/report.html",
    stages: [
      { label: "sft", steps: 200, seconds: 190, final: { loss: 1.234 } },
      { label: "rl phase 1", steps: 100, final: { reward_mean: 0.51, accuracy: 0.43 } },
    ],
    evals: [{ label: "after phase 1", table }],
  });
  expect(text.split("\n")[0]).toBe("longrl: run finished in 1h02m on H100");
  expect(text).toMatch(/sft\s+200\s+3m10s\s+loss 1\.23/);
  expect(text).toMatch(/rl phase 1\s+100\s+-\s+reward_mean 0\.51  accuracy 0\.43/);
  expect(text).toMatch(/after phase 1\s+2\s+0\.0\s+50\.0\s+50\.0\s+50\.0\s+100\.0/);
  expect(text).toContain("report   runs/demo/report.html");
});
