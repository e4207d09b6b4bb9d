// `longrl score`: per-token log-probabilities of a sequence under a model directory:
// {"ids": [n ids], "logprobs": [n-1 numbers]} with logprobs[i] = log p(ids[i+1] | ids[0..i]).
import type { Argv, CommandModule } from "yargs";
import { readTensor, releaseTensor } from "../gpu/index.ts";
import { packGroups } from "../model/batch.ts";
import { join } from "node:path";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { loadConfig } from "../model/config.ts";
import { modelForward, releaseBatch, releaseForward, uploadBatch } from "../model/forward.ts";
import { releaseParams } from "../model/params.ts";
import { loadTokenizer } from "../tokenizer/index.ts";
import { tokenPiece } from "../tokenizer/inspect.ts";
import { usageError } from "../util/errors.ts";
import { type GpuArgs, withGpu } from "./common.ts";

export interface ScoreArgs extends GpuArgs {
  model: string;
  ids?: string;
  text?: string;
  json: boolean;
}

/** "5,17,3" → [5, 17, 3]; anything else is a usage error naming --ids. */
export function parseIds(text: string): number[] {
  const parts = text.split(/[\s,]+/).filter((s) => s !== "");
  const ids = parts.map(Number);
  const bad = parts.findIndex((s, i) => !/^\d+$/.test(s) || !Number.isSafeInteger(ids[i]));
  if (bad >= 0) throw usageError(`--ids: '${parts[bad]}' is not a token id; give non-negative integers separated by commas, e.g. --ids 5,17,3`);
  return ids;
}

export async function runScore(a: ScoreArgs): Promise<void> {
  if ((a.ids === undefined) === (a.text === undefined)) throw usageError("give exactly one of --ids or --text");
  const tok = a.text !== undefined ? loadTokenizer(a.model) : undefined;
  let ids: number[];
  if (tok) {
    ids = tok.encode(a.text!);
    const bos = tok.addBos && tok.bosToken !== undefined ? tok.tokenId(tok.bosToken) : undefined;
    if (bos !== undefined) ids.unshift(bos);
  } else ids = parseIds(a.ids!);
  if (ids.length < 2) throw usageError(`score needs at least 2 tokens (got ${ids.length}): the first one conditions, the others are scored`);
  const cfg = loadConfig(join(a.model, "config.json"));
  if (ids.length > cfg.maxPositions) throw usageError(`${ids.length} tokens exceed the model's max_position_embeddings ${cfg.maxPositions}; score a shorter text`);
  const bad = ids.find((id) => id >= cfg.vocabSize);
  if (bad !== undefined) throw usageError(`--ids: token id ${bad} is outside the model's vocabulary of ${cfg.vocabSize}`);
  const logprobs = await withGpu(a, async (gpu) => {
    const { config, params } = await loadCheckpoint(gpu, a.model);
    try {
      const batch = uploadBatch(gpu, config, packGroups([{ prompt: ids.slice(0, 1), responses: [ids.slice(1)] }]));
      const res = modelForward(gpu, config, params, batch);
      const logp = Array.from((await readTensor(gpu, res.logp)) as Float32Array);
      releaseForward(gpu, res.state);
      for (const t of [res.logp, res.entropy]) releaseTensor(gpu, t);
      releaseBatch(gpu, batch);
      return logp;
    } finally {
      releaseParams(gpu, params);
    }
  });
  if (a.json) {
    process.stdout.write(`${JSON.stringify({ ids, logprobs })}\n`);
    return;
  }
  const rows = ids.map((id, i) => `${String(i).padStart(6)}  ${String(id).padStart(7)}  ${(i === 0 ? "" : logprobs[i - 1]!.toFixed(4)).padStart(10)}  ${tok ? JSON.stringify(tokenPiece(tok, id)) : ""}`);
  const total = logprobs.reduce((s, x) => s + x, 0);
  process.stdout.write(`   pos       id     logprob  piece\n${rows.join("\n")}\nsum ${total.toFixed(4)} over ${logprobs.length} tokens (perplexity ${Math.exp(-total / logprobs.length).toFixed(3)})\n`);
}

export const scoreCommand: CommandModule<{}, ScoreArgs> = {
  command: "score",
  describe: "per-token log-probabilities of a sequence under a model directory",
  builder: (y: Argv<{}>) =>
    y
      .option("model", { type: "string", demandOption: true, describe: "model directory (config.json + model.safetensors; tokenizer files for --text)" })
      .option("ids", { type: "string", describe: "token ids, comma separated: 5,17,3" })
      .option("text", { type: "string", describe: "text, encoded with the model directory's tokenizer (no chat template)" })
      .option("json", { type: "boolean", default: false, describe: "print {\"ids\": [...], \"logprobs\": [...]}" })
      .conflicts("ids", "text") as unknown as Argv<ScoreArgs>,
  handler: async (args) => {
    await runScore(args);
  },
};
