// `longrl train [CONFIG]`, `longrl sft [CONFIG]` and `longrl eval --model DIR`:
// the recipe's stages (src/train/run.ts, src/eval/run.ts). CONFIG defaults to the embedded
// configs/demo.yaml; `--set a.b=c` overrides; `--resume RUN_DIR` continues a run with its own config.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Argv, CommandModule } from "yargs";
import { DEMO_CONFIG_NAME, EMBEDDED_DEMO, loadRunConfig } from "../config/load.ts";
import type { RunConfig } from "../config/schema.ts";
import { formatEvalTable } from "../eval/metrics.ts";
import { runEval } from "../eval/run.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { releaseParams } from "../model/params.ts";
import { createJudge } from "../reward/backend.ts";
import { prepareData } from "../train/data.ts";
import { createProgress } from "../train/progress.ts";
import { runTrain } from "../train/run.ts";
import { usageError } from "../util/errors.ts";
import { canProfile, formatProfile, startProfile, stopProfile } from "../gpu/index.ts";
import { deviceName, type GpuArgs, withGpu } from "./common.ts";

interface TrainArgs extends GpuArgs {
  config?: string;
  /** A model directory to start from, with its own tokenizer (as `longrl eval --model`). */
  model?: string;
  set?: string[];
  output?: string;
  resume?: string;
  quiet: boolean;
  stopAfter?: number;
  profile?: boolean;
}

/** `--model DIR` as the config keys it stands for: the directory's weights and its own tokenizer (compact or not). */
function modelSets(dir: string): string[] {
  if (!existsSync(join(dir, "config.json"))) throw usageError(`--model ${dir}: no config.json there; give a model directory`);
  return [`model.path=${JSON.stringify(dir)}`, "tokenizer.name=", "tokenizer.compactVocab=false"]; // quoted: a path is never read as a number
}

/** CONFIG (or the embedded demo) with the overrides. */
function loadConfigArg(config: string | undefined, sets: string[]): RunConfig {
  return config === undefined ? loadRunConfig({ file: DEMO_CONFIG_NAME, text: EMBEDDED_DEMO, sets }) : loadRunConfig({ file: config, sets });
}

/** The run's config and directory: --resume reads RUN_DIR/config.yaml; otherwise CONFIG (or the demo) + --model + --set. */
export function resolveRun(a: TrainArgs): { cfg: RunConfig; runDir: string } {
  if (a.resume !== undefined) {
    if (a.config !== undefined || (a.set ?? []).length > 0 || a.model !== undefined) throw usageError("--resume continues a run with its own config.yaml; drop CONFIG, --model and --set");
    const file = join(a.resume, "config.yaml");
    if (!existsSync(file)) throw usageError(`--resume ${a.resume}: no config.yaml there; is it a run directory?`);
    return { cfg: loadRunConfig({ file }), runDir: a.resume };
  }
  const sets = [...(a.model !== undefined ? modelSets(a.model) : []), ...(a.set ?? [])];
  const cfg = loadConfigArg(a.config, sets);
  const runDir = a.output ?? cfg.outputDir;
  if (existsSync(join(runDir, "metrics.jsonl"))) throw usageError(`${runDir} already holds a run; continue it with --resume ${runDir}, or choose another --output`);
  return { cfg, runDir };
}

function stageCommand(name: "train" | "sft" | "rl", describe: string): CommandModule<{}, TrainArgs> {
  return {
    command: `${name} [config]`,
    describe,
    builder: (y: Argv<{}>) =>
      y
        .positional("config", { type: "string", describe: `run config YAML (default: the embedded ${DEMO_CONFIG_NAME})` })
        .option("model", { type: "string", describe: "start from this model directory (a checkpoint or a Hugging Face Qwen2 model) with its own tokenizer: model.path=DIR, tokenizer.name=, tokenizer.compactVocab=false" })
        .option("set", { type: "string", array: true, describe: "override a key: --set rl.clipHigh=0.28 (repeatable)" })
        .option("output", { type: "string", describe: "run directory (default: the config's outputDir)" })
        .option("resume", { type: "string", describe: "continue the run in this directory from its latest checkpoint" })
        .option("quiet", { type: "boolean", default: false, describe: "plain progress lines, no bar" })
        .option("stop-after", { type: "number", describe: "save and stop (as Ctrl-C does) after this global step; --resume continues" })
        .option("profile", { type: "boolean", default: false, describe: "time every GPU kernel (timestamp queries); writes RUN_DIR/profile.json and prints the costliest" }) as unknown as Argv<TrainArgs>,
    handler: async (args) => {
      if (args.stopAfter !== undefined && !(Number.isInteger(args.stopAfter) && args.stopAfter >= 1)) throw usageError(`--stop-after ${args.stopAfter}: give a step number >= 1`);
      const { cfg, runDir } = resolveRun(args);
      const stages: ("sft" | "rl")[] = name === "train" ? ["sft", "rl"] : [name];
      const code = await withGpu(args, async (gpu) => {
        if (args.profile) {
          if (!canProfile(gpu)) throw usageError(`--profile: ${deviceName(gpu)} has no timestamp queries; run without --profile`);
          startProfile(gpu);
        }
        const c = await runTrain(gpu, cfg, runDir, { stages, resume: args.resume !== undefined, quiet: args.quiet, device: deviceName(gpu), stopAfter: args.stopAfter });
        if (args.profile) {
          const rows = await stopProfile(gpu);
          writeFileSync(join(runDir, "profile.json"), `${JSON.stringify({ device: deviceName(gpu), kernels: rows }, null, 1)}\n`);
          process.stderr.write(`${formatProfile(rows)}\nlongrl: kernel profile in ${join(runDir, "profile.json")}\n`);
        }
        return c;
      });
      if (code !== 0) process.exitCode = code;
    },
  };
}

export const trainCommand = stageCommand("train", "run the whole recipe: eval, SFT, eval, RL phases, eval, report");
export const sftCommand = stageCommand("sft", "run the warm-up only: copy pretraining (pretrain.enable) and SFT, then stop before RL");
export const rlCommand = stageCommand("rl", "run the RL phases only (from model.path, e.g. an SFT checkpoint)");

interface EvalArgs extends GpuArgs {
  model: string;
  data?: string;
  config?: string;
  set?: string[];
  output?: string;
  json: boolean;
  quiet: boolean;
}

export const evalCommand: CommandModule<{}, EvalArgs> = {
  command: "eval",
  describe: "evaluate a model directory on DocQA JSONL (rule, judge, hybrid, EM, F1, pass@k)",
  builder: (y: Argv<{}>) =>
    y
      .option("model", { type: "string", demandOption: true, describe: "model directory (a checkpoint or a Hugging Face Qwen2 model)" })
      .option("data", { type: "string", describe: "DocQA JSONL (default: the config's held-out data)" })
      .option("config", { type: "string", describe: `config YAML for the eval/reward/tokenizer sections (default: ${DEMO_CONFIG_NAME})` })
      .option("set", { type: "string", array: true, describe: "override a key: --set eval.samplesPerItem=8" })
      .option("output", { type: "string", describe: "directory for eval/<label>.jsonl and .json" })
      .option("json", { type: "boolean", default: false, describe: "print the table as JSON" })
      .option("quiet", { type: "boolean", default: false, describe: "plain progress lines, no bar" }) as unknown as Argv<EvalArgs>,
  handler: async (a) => {
    const base = loadConfigArg(a.config, [...modelSets(a.model), ...(a.set ?? [])]);
    const vocabFile = join(a.model, "longrl_vocab.json");
    const cfg: RunConfig = { ...base, data: { ...base.data, eval: a.data ?? base.data.eval } };
    const data = prepareData(cfg, vocabFile, { evalOnly: true });
    const table = await withGpu(a, async (gpu) => {
      const judge = await createJudge(cfg.reward.judge, gpu);
      const { config, params } = await loadCheckpoint(gpu, a.model);
      try {
        const bar = createProgress({ label: "eval", total: Math.min(data.eval.length, cfg.eval.maxItems || Infinity), unit: "item", quiet: a.quiet });
        const t = await runEval({ gpu, cfg, model: config, params, data, judge }, "eval", cfg.eval, a.output, (done) => bar.update(done));
        bar.stop();
        return t;
      } finally {
        releaseParams(gpu, params);
        judge?.close();
      }
    });
    process.stdout.write(a.json ? `${JSON.stringify(table)}\n` : `${formatEvalTable(table, `eval of ${a.model}`)}\n`);
  },
};

