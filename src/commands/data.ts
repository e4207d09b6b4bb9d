// `longrl data synth` and `longrl data stats`: flags in, files and reports out; the logic lives in src/data.
import type { Argv, CommandModule } from "yargs";
import { loadTokenizer } from "../tokenizer/index.ts";
import { loadRecords, writeRecords } from "../data/load.ts";
import { computeStats, formatStats, parsePhases } from "../data/stats.ts";
import { checkSynthOptions, DEFAULT_SYNTH, generateRecords, parseKinds, parseReasoning, type SynthOptions } from "../data/synth.ts";
import type { Writer } from "./verify.ts";

export interface SynthArgs {
  out: string;
  n: number;
  minTokens: number;
  maxTokens: number;
  seed: number;
  categories: string;
  tokenizer: string;
  reasoning?: string;
}

export async function runSynth(a: SynthArgs, err: Writer = process.stderr): Promise<void> {
  const opts: SynthOptions = {
    n: a.n, minTokens: a.minTokens, maxTokens: a.maxTokens, seed: a.seed, kinds: parseKinds(a.categories), tokenizer: a.tokenizer,
    reasoning: parseReasoning(a.reasoning ?? "cite"),
  };
  checkSynthOptions(opts);
  const tok = loadTokenizer(opts.tokenizer);
  const tty = (process.stderr as { isTTY?: boolean }).isTTY === true && err === process.stderr && !process.env.NO_COLOR;
  const t0 = performance.now();
  const records = generateRecords(opts, tok, (i) => {
    if (tty && (i % 10 === 9 || i === opts.n - 1)) err.write(`\rdata synth: ${i + 1}/${opts.n}`);
  });
  if (tty) err.write("\n");
  writeRecords(a.out, records);
  const kinds = new Map<string, number>();
  for (const r of records) kinds.set(r.dataSource, (kinds.get(r.dataSource) ?? 0) + 1);
  const lens = records.map((r) => r.promptTokens ?? 0);
  err.write(
    `data synth: wrote ${records.length} records to ${a.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
      `(${[...kinds].map(([k, v]) => `${k} ${v}`).join(", ")}; prompt tokens ${Math.min(...lens)}-${Math.max(...lens)} ${tok.name})\n`,
  );
}

export interface StatsArgs {
  file: string;
  phases: string;
  tokenizer: string;
  skipInvalid: boolean;
  json: boolean;
}

export async function runStats(a: StatsArgs, out: Writer = process.stdout, err: Writer = process.stderr): Promise<void> {
  const limits = parsePhases(a.phases);
  const tok = loadTokenizer(a.tokenizer);
  const { records, skipped, errors } = loadRecords(a.file, { skipInvalid: a.skipInvalid });
  const stats = computeStats(records, tok, limits);
  if (skipped > 0) err.write(`data stats: skipped ${skipped} invalid records; first: ${errors[0]}\n`);
  out.write(a.json ? `${JSON.stringify({ file: a.file, skipped, ...stats })}\n` : formatStats(stats, a.file));
}

const synthCommand: CommandModule<{}, SynthArgs> = {
  command: "synth",
  describe: "generate synthetic long-document QA (deterministic by seed)",
  builder: (y: Argv<{}>) =>
    y
      .option("out", { type: "string", demandOption: true, describe: "output JSONL file" })
      .option("n", { type: "number", default: DEFAULT_SYNTH.n, describe: "number of records" })
      .option("min-tokens", { type: "number", default: DEFAULT_SYNTH.minTokens, describe: "min prompt tokens per record" })
      .option("max-tokens", { type: "number", default: DEFAULT_SYNTH.maxTokens, describe: "max prompt tokens per record" })
      .option("seed", { type: "number", default: DEFAULT_SYNTH.seed, describe: "random seed: same seed, same file" })
      .option("categories", { type: "string", default: DEFAULT_SYNTH.kinds.join(","), describe: "kinds, used in turn: lookup, multihop, docmath, choice (qa, math also work)" })
      .option("tokenizer", { type: "string", default: DEFAULT_SYNTH.tokenizer, describe: "tokenizer lengths are measured in" })
      .option("reasoning", { type: "string", default: "cite", describe: "gold reasoning style: cite (Passage N says: ...) or quote (the question restated, then each sentence, then its passage)" }) as unknown as Argv<SynthArgs>,
  handler: async (args) => {
    await runSynth(args);
  },
};

const statsCommand: CommandModule<{}, StatsArgs> = {
  command: "stats <file>",
  describe: "counts, prompt-token histogram and curriculum phases of a record file",
  builder: (y: Argv<{}>) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "JSONL records (longrl or verl layout)" })
      .option("phases", { type: "string", default: "20000,60000", describe: "phase limits in prompt tokens (QwenLong-L1: 20K then 60K)" })
      .option("tokenizer", { type: "string", default: DEFAULT_SYNTH.tokenizer, describe: "tokenizer prompt lengths are measured in" })
      .option("skip-invalid", { type: "boolean", default: false, describe: "skip bad records (counted) instead of failing" })
      .option("json", { type: "boolean", default: false, describe: "machine-readable output, with each record's phase" }) as unknown as Argv<StatsArgs>,
  handler: async (args) => {
    await runStats(args);
  },
};

export const dataCommand: CommandModule<{}, {}> = {
  command: "data <command>",
  describe: "synthetic data and dataset statistics",
  builder: (y: Argv<{}>) => y.command(synthCommand).command(statsCommand).demandCommand(1, "name a data command: synth or stats"),
  handler: () => {},
};
