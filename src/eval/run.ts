// Evaluation on held-out DocQA records (design.md §5): n samples per item with the KV-cache engine,
// prompts longer than the model's window cut in the middle (QwenLong-L1's evaluation), the hybrid
// reward per sample, and the table per data_source and length bucket (eval/metrics.ts). Writes
// eval/<label>.jsonl (every sample) and eval/<label>.json (the table).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EvalOptions, RunConfig } from "../config/schema.ts";
import { type Gpu, profileStage } from "../gpu/index.ts";
import type { ModelConfig } from "../model/config.ts";
import { generate } from "../model/generate.ts";
import type { Params } from "../model/params.ts";
import { computeRewards } from "../reward/hybrid.ts";
import type { Judge } from "../reward/judge.ts";
import type { RunData } from "../train/data.ts";
import { mix32 } from "../util/rng.ts";
import { runError } from "../util/errors.ts";
import { type EvalSample, type EvalTable, aggregateEval, middleTruncate } from "./metrics.ts";

export interface EvalRun {
  gpu: Gpu;
  cfg: RunConfig;
  model: ModelConfig;
  params: Params;
  data: RunData;
  judge: Judge | null;
}

/** "after phase 1" → "after-phase-1" (file names). */
export function evalSlug(label: string): string {
  return label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

function labelSeed(seed: number, label: string): number {
  let h = mix32(seed);
  for (let i = 0; i < label.length; i++) h = mix32(h ^ label.charCodeAt(i));
  return h;
}

/**
 * Evaluates the model on the run's held-out examples; writes eval files under dir when given (with the global
 * step the model was trained to, when given, so a report can place the eval on the training curves).
 */
export async function runEval(r: EvalRun, label: string, opts: EvalOptions, dir?: string, onItem?: (done: number, total: number) => void, step?: number): Promise<EvalTable> {
  profileStage(r.gpu, "eval");
  const items = opts.maxItems > 0 ? r.data.eval.slice(0, opts.maxItems) : r.data.eval;
  if (items.length === 0) throw runError("eval: no held-out records (data.eval / data.evalSynth)");
  const window = r.model.maxPositions - opts.maxResponseTokens;
  if (window < 16) throw runError(`eval.maxResponseTokens ${opts.maxResponseTokens} leaves no room for a prompt in the model's ${r.model.maxPositions} positions`);
  const seed = labelSeed(r.cfg.seed, label);
  const n = opts.samplesPerItem;
  const prompts = items.map((e) => middleTruncate(e.promptIds, window));
  // Calls take prompts of near-equal length (less padding in the prefill: 81 → 68 s for 512 items of 128-512
  // tokens × 2 samples, README); item i's samples draw as rows i·n .. i·n + n − 1 whatever call it lands in, so the
  // order changes no sample. Results are written in the items' order.
  const order = items.map((_, i) => i).sort((a, b) => prompts[a]!.length - prompts[b]!.length || a - b);
  const perItem: { samples: EvalSample[]; lines: string[] }[] = items.map(() => ({ samples: [], lines: [] }));
  for (let c = 0; c < order.length; c += opts.promptsPerCall) {
    const chunk = order.slice(c, c + opts.promptsPerCall);
    const outs = await generate(r.gpu, r.model, r.params, chunk.map((i) => prompts[i]!), {
      n, maxNewTokens: opts.maxResponseTokens, temperature: opts.temperature, topP: opts.topP,
      seed, promptRows: chunk.map((i) => i * n), stopIds: r.data.stopIds,
    });
    const itemOf = outs.map((o) => chunk[o.prompt]!); // each sample's index in items
    const texts = outs.map((o) => r.data.tokenizer.decode(o.ids.filter((id) => !r.data.stopIds.includes(id))));
    const { results } = await computeRewards(
      outs.map((o, j) => {
        const e = items[itemOf[j]!]!;
        return { response: texts[j]!, groundTruth: e.record.answer, dataSource: e.record.dataSource, category: e.record.category, question: e.record.question, responseTokens: o.ids.length };
      }),
      { ...r.cfg.reward, overlong: { ...r.cfg.reward.overlong, enable: false } },
      r.judge,
    );
    outs.forEach((o, j) => {
      const e = items[itemOf[j]!]!;
      const res = results[j]!;
      const into = perItem[itemOf[j]!]!;
      into.samples.push({
        id: e.record.id, dataSource: e.record.dataSource, promptTokens: e.promptIds.length, rule: res.rule, judge: res.judge,
        hybrid: res.hybrid, em: res.em ?? 0, f1: res.f1 ?? 0, responseTokens: o.ids.length, overlong: o.finish === "length",
      });
      into.lines.push(JSON.stringify({ id: e.record.id, data_source: e.record.dataSource, sample: o.sample, prompt_tokens: e.promptIds.length, response: texts[j], pred: res.pred, answer: e.record.answer, rule: res.rule, judge: res.judge, hybrid: res.hybrid, em: res.em, f1: res.f1, response_tokens: o.ids.length, finish: o.finish }));
    });
    onItem?.(Math.min(items.length, c + opts.promptsPerCall), items.length);
  }
  const samples = perItem.flatMap((x) => x.samples);
  const lines = perItem.flatMap((x) => x.lines);
  const table = aggregateEval(samples, { bucketEdges: opts.lengthBuckets, ks: opts.kValues });
  if (dir) {
    mkdirSync(dir, { recursive: true });
    const slug = evalSlug(label);
    writeFileSync(join(dir, `${slug}.jsonl`), `${lines.join("\n")}\n`);
    writeFileSync(join(dir, `${slug}.json`), `${JSON.stringify(step === undefined ? { label, table } : { label, step, table }, null, 1)}\n`);
  }
  return table;
}
