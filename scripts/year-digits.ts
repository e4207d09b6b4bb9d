// Demo diagnostic: how a model guesses the last digit of a year. For the eval samples whose gold answer is a
// four-digit year, it prints their accuracy, the spread (entropy, bits) of the last digit of the predicted years
// and of the gold years, and the most common predicted last digit with its share and the share of golds that end
// in it. A policy that has learnt to retrieve the year keeps the predictions' spread near the golds'; one that has
// learnt a favourite digit shows a spread well below it and one digit taking a large share (README, "The demo run").
//   bun scripts/year-digits.ts RUN/eval/after-sft.jsonl RUN/eval/after-phase-2.jsonl ...
import { readFileSync } from "node:fs";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: bun scripts/year-digits.ts EVAL.jsonl... (eval/<label>.jsonl files written by longrl train or eval)");
  process.exit(2);
}

const bits = (counts: readonly number[]) => {
  const n = counts.reduce((s, c) => s + c, 0);
  return n === 0 ? 0 : -counts.reduce((s, c) => s + (c > 0 ? (c / n) * Math.log2(c / n) : 0), 0);
};

for (const file of files) {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    console.error(`${file}: cannot read; give eval/<label>.jsonl files`);
    process.exit(2);
  }
  const pred = new Array<number>(10).fill(0);
  const gold = new Array<number>(10).fill(0);
  let samples = 0;
  let right = 0;
  let years = 0;
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let r: { answer?: unknown; pred?: unknown; hybrid?: number };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      console.error(`${file}:${i + 1}: not a JSON line; give eval/<label>.jsonl files`);
      process.exit(2);
    }
    if (typeof r.answer !== "string" || !/^\d{4}$/.test(r.answer)) continue;
    samples++;
    right += r.hybrid ?? 0;
    gold[Number(r.answer[3])]!++;
    const p = typeof r.pred === "string" ? r.pred.trim().match(/^\d{4}$/) : null;
    if (p) {
      years++;
      pred[Number(p[0][3])]!++;
    }
  }
  const top = pred.indexOf(Math.max(...pred));
  console.log(
    `${file}: ${samples} samples with a year for gold, accuracy ${((100 * right) / Math.max(samples, 1)).toFixed(1)}%, ` +
      `${years} predicted a year; last digit spread ${bits(pred).toFixed(2)} bits (golds ${bits(gold).toFixed(2)}), ` +
      `most common ${top} (${((100 * pred[top]!) / Math.max(years, 1)).toFixed(0)}%; golds ending in ${top}: ${((100 * gold[top]!) / Math.max(samples, 1)).toFixed(0)}%)`,
  );
}
