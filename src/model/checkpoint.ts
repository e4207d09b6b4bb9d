// Checkpoint directories in Hugging Face layout (config.json, model.safetensors,
// generation_config.json, tokenizer files, plus any extra tensor files such as
// optimizer.safetensors), written atomically: everything goes to `<dir>.tmp-<pid>`, then one
// rename swaps it in, so a crash leaves the old checkpoint or none, never half of one.
// Tensor names map through the parameter table (params.ts); nothing here knows the architecture.
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { type Gpu, type Tensor, readTensor } from "../gpu/index.ts";
import { runError, usageError } from "../util/errors.ts";
import { type ModelConfig, configToHf, loadConfig } from "./config.ts";
import { type Params, allocateParams, param, paramTable, releaseParams } from "./params.ts";
import { type SaveDtype, loadTensors, openSafetensors, saveTensors, WEIGHTS_FILE, writeSafetensors } from "./safetensors.ts";

export interface SaveOptions {
  config: ModelConfig;
  params: Params;
  /** Weights on disk: F32 (exact) or BF16 (half the size; what HF releases use). Default F32. */
  dtype?: SaveDtype;
  /** Files to include: name in the checkpoint → source path to copy, or the contents. */
  extraFiles?: Record<string, string | Uint8Array>;
  /** More safetensors files (e.g. optimizer.safetensors): file name → tensors, written F32. */
  tensorFiles?: Record<string, { name: string; tensor: Tensor }[]>;
  /** Merged into generation_config.json (sampling defaults such as temperature, top_p). */
  generation?: Record<string, unknown>;
}

/** Writes a checkpoint directory atomically (replacing an existing one only once complete). */
export async function saveCheckpoint(gpu: Gpu, dir: string, opts: SaveOptions): Promise<void> {
  const dir0 = dir.replace(/\/+$/, "");
  const tmp = `${dir0}.tmp-${process.pid}`;
  const old = `${dir0}.old-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await writeContents(gpu, tmp, opts);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const hadOld = existsSync(dir0);
  if (hadOld) {
    rmSync(old, { recursive: true, force: true });
    renameSync(dir0, old);
  }
  renameSync(tmp, dir0);
  if (hadOld) rmSync(old, { recursive: true, force: true });
}

async function writeContents(gpu: Gpu, dir: string, opts: SaveOptions): Promise<void> {
  const { config, params } = opts;
  const dtype = opts.dtype ?? "F32";
  const torchDtype = dtype === "BF16" ? "bfloat16" : "float32";
  writeFileSync(join(dir, "config.json"), JSON.stringify(configToHf(config, torchDtype), null, 2) + "\n");
  const generation: Record<string, unknown> = { _from_model_config: true, transformers_version: "4.45.0" };
  if (config.bosTokenId !== null) generation.bos_token_id = config.bosTokenId;
  if (config.eosTokenId !== null) generation.eos_token_id = config.eosTokenId;
  writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ ...generation, ...opts.generation }, null, 2) + "\n");

  const entries = paramTable(config).map((row) => {
    const t = param(params, row.name);
    return { name: row.hfName, shape: row.shape, data: async () => (await readTensor(gpu, t)) as Float32Array };
  });
  await writeSafetensors(join(dir, WEIGHTS_FILE), entries, dtype, { format: "pt" });

  for (const [file, items] of Object.entries(opts.tensorFiles ?? {})) await saveTensors(gpu, join(dir, file), items, "F32");
  for (const [name, src] of Object.entries(opts.extraFiles ?? {})) {
    if (name !== basename(name)) throw usageError(`checkpoint extra file ${name}: give a plain file name, not a path`);
    if (typeof src === "string") {
      if (!existsSync(src)) throw runError(`${src}: cannot copy into the checkpoint as ${name}; the file does not exist`);
      copyFileSync(src, join(dir, name));
    } else writeFileSync(join(dir, name), src);
  }
}

/** Tensors of old checkpoints that are buffers, not parameters (transformers ignores them too). */
const IGNORED = /\.rotary_emb\.inv_freq$/;

/**
 * Reads a Hugging Face (or longrl) model directory: config.json, then the weights, single file or
 * sharded, tensor by tensor onto the GPU. Tied configs ignore a stored lm_head.weight.
 */
export async function loadCheckpoint(gpu: Gpu, dir: string): Promise<{ config: ModelConfig; params: Params; generation?: Record<string, unknown> }> {
  const config = loadConfig(join(dir, "config.json"));
  const src = openSafetensors(dir);
  const params = allocateParams(gpu, config);
  try {
    const items = paramTable(config).map((row) => ({ name: row.hfName, tensor: param(params, row.name) }));
    loadTensors(gpu, src, items, (name) => IGNORED.test(name) || (config.tieWordEmbeddings && name === "lm_head.weight"));
  } catch (e) {
    releaseParams(gpu, params);
    throw e;
  }
  const genFile = join(dir, "generation_config.json");
  const generation = existsSync(genFile) ? (JSON.parse(readFileSync(genFile, "utf8")) as Record<string, unknown>) : undefined;
  return { config, params, generation };
}
