// `longrl generate`: samples from a model directory with the KV-cache engine (src/model/generate.ts).
// The prompt is one user turn in the tokenizer's chat format (generation prompt added) unless --raw.
// --json prints one line per sample: {"prompt", "sample", "text", "ids", "logprobs", "finish_reason"}.
import type { Argv, CommandModule } from "yargs";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { generate, modelStopIds } from "../model/generate.ts";
import { releaseParams } from "../model/params.ts";
import { applyChatTemplate, loadTokenizer, type LoadedTokenizer } from "../tokenizer/index.ts";
import { readJsonlLines, parseJsonLine } from "../data/load.ts";
import { usageError } from "../util/errors.ts";
import { type GpuArgs, withGpu } from "./common.ts";

export interface GenerateArgs extends GpuArgs {
  model: string;
  prompt?: string;
  input?: string;
  n: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  maxNewTokens: number;
  seed: number;
  raw: boolean;
  think?: boolean;
  json: boolean;
}

/** Prompt texts from --prompt or from a JSONL file of {"prompt": "..."} lines. */
function promptTexts(a: GenerateArgs): string[] {
  if ((a.prompt === undefined) === (a.input === undefined)) throw usageError("give exactly one of --prompt or --input");
  if (a.prompt !== undefined) return [a.prompt];
  return readJsonlLines(a.input!).map(([line, text]) => {
    const v = parseJsonLine(a.input!, line, text) as { prompt?: unknown };
    if (typeof v?.prompt !== "string") throw usageError(`${a.input}:${line}: needs a "prompt" string, e.g. {"prompt": "Hello"}`);
    return v.prompt;
  });
}

function encodePrompt(tok: LoadedTokenizer, text: string, a: GenerateArgs): number[] {
  const full = a.raw ? text : applyChatTemplate(tok.chat, [{ role: "user", content: text }], { addGenerationPrompt: true, thinking: a.think });
  return tok.encode(full);
}

/** A number flag, else the model's generation_config.json value, else the fallback. */
function pick(flag: number | undefined, gen: Record<string, unknown> | undefined, key: string, fallback: number): number {
  if (flag !== undefined) return flag;
  const v = gen?.[key];
  return typeof v === "number" ? v : fallback;
}

export async function runGenerate(a: GenerateArgs): Promise<void> {
  const texts = promptTexts(a);
  for (const [flag, v, ok] of [["--n", a.n, Number.isInteger(a.n) && a.n >= 1], ["--max-new-tokens", a.maxNewTokens, Number.isInteger(a.maxNewTokens) && a.maxNewTokens >= 1], ["--seed", a.seed, Number.isInteger(a.seed) && a.seed >= 0]] as const) {
    if (!ok) throw usageError(`${flag} must be a positive integer, got ${v}`);
  }
  const tok = loadTokenizer(a.model);
  const prompts = texts.map((t) => encodePrompt(tok, t, a));
  await withGpu(a, async (gpu) => {
    const { config, params, generation } = await loadCheckpoint(gpu, a.model);
    try {
      const samples = await generate(gpu, config, params, prompts, {
        n: a.n,
        maxNewTokens: a.maxNewTokens,
        temperature: pick(a.temperature, generation, "temperature", 1),
        topP: pick(a.topP, generation, "top_p", 1),
        topK: pick(a.topK, generation, "top_k", 0),
        seed: a.seed,
        stopIds: modelStopIds(tok, config),
      });
      for (const s of samples) {
        const text = tok.decode(s.ids);
        if (a.json) {
          process.stdout.write(`${JSON.stringify({ prompt: s.prompt, sample: s.sample, text, ids: s.ids, logprobs: s.logps, finish_reason: s.finish })}\n`);
        } else {
          process.stdout.write(`--- prompt ${s.prompt} sample ${s.sample} (${s.ids.length} tokens, ${s.finish})\n${text}\n`);
        }
      }
    } finally {
      releaseParams(gpu, params);
    }
  });
}

export const generateCommand: CommandModule<{}, GenerateArgs> = {
  command: "generate",
  describe: "sample completions from a model directory (shared-prefix KV cache)",
  builder: (y: Argv<{}>) =>
    y
      .option("model", { type: "string", demandOption: true, describe: "model directory (config.json, model.safetensors, tokenizer files)" })
      .option("prompt", { type: "string", describe: "prompt text (one user turn)" })
      .option("input", { type: "string", describe: "JSONL file, one {\"prompt\": \"...\"} per line" })
      .option("n", { type: "number", default: 1, describe: "samples per prompt" })
      .option("temperature", { type: "number", describe: "sampling temperature, 0 = greedy (default: generation_config.json, else 1)" })
      .option("top-p", { type: "number", describe: "nucleus mass in (0, 1] (default: generation_config.json, else 1 = off)" })
      .option("top-k", { type: "number", describe: "keep the k most likely tokens, 0 = off (default: generation_config.json, else 0)" })
      .option("max-new-tokens", { type: "number", default: 256, describe: "tokens to generate at most per sample" })
      .option("seed", { type: "number", default: 0, describe: "sampling seed" })
      .option("raw", { type: "boolean", default: false, describe: "encode the prompt as is (no chat template)" })
      .option("think", { type: "boolean", describe: "end the prompt with <think> (default: the chat format's)" })
      .option("json", { type: "boolean", default: false, describe: "one JSON line per sample" })
      .conflicts("prompt", "input") as unknown as Argv<GenerateArgs>,
  handler: async (args) => {
    await runGenerate(args);
  },
};
