// Judge backend "local": a judge model directory (a Hugging Face Qwen2-family directory such as
// Qwen2.5-1.5B-Instruct, or a longrl checkpoint) run on this process's GPU by the rollouts' own KV-cache
// engine; no server. The judge sees the same system and user turns as the openai backend, in its
// tokenizer's chat format, and answers greedily (temperature 0). Questions asked together are
// answered together: up to judge.concurrency prompts per generate call. A reply stops at its first
// [[YES]] or [[NO]] (the verdict the prompt asks it to end with) or after judge.maxTokens tokens.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Gpu } from "../gpu/index.ts";
import { loadCheckpoint } from "../model/checkpoint.ts";
import { generate, modelStopIds } from "../model/generate.ts";
import { releaseParams } from "../model/params.ts";
import { applyChatTemplate, loadTokenizer, type LoadedTokenizer } from "../tokenizer/index.ts";
import { usageError } from "../util/errors.ts";
import type { JudgeOptions } from "./config.ts";
import { JUDGE_SYSTEM_PROMPT, type Judge, judgeOver, type JudgeReply, judgeUserPrompt } from "./judge.ts";

const VERDICTS = ["[[YES]]", "[[NO]]"];

/** The judge prompt's token ids in the judge model's chat format (its own default for thinking). */
export function localJudgePrompt(tok: LoadedTokenizer, question: string, prediction: string, gold: string): number[] {
  const text = applyChatTemplate(tok.chat, [
    { role: "system", content: JUDGE_SYSTEM_PROMPT },
    { role: "user", content: judgeUserPrompt(question, prediction, gold) },
  ], { addGenerationPrompt: true });
  return tok.encode(text);
}

interface Pending {
  ids: number[];
  done: (r: JudgeReply) => void;
}

/** Loads the judge model (judge.model is its directory) onto `gpu`; close() frees its weights. */
export async function createLocalJudge(gpu: Gpu, opts: JudgeOptions): Promise<Judge> {
  const dir = opts.model;
  if (!dir) throw usageError("the local judge needs a model directory: set reward.judge.model=DIR (longrl verify: --judge-model DIR)");
  if (!existsSync(join(dir, "config.json"))) {
    throw usageError(`reward.judge.model '${dir}' has no config.json: the local judge needs a model directory, a Hugging Face Qwen2-family model or a longrl checkpoint (longrl verify: --judge-model DIR)`);
  }
  if (!(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) throw usageError(`reward.judge.concurrency ${opts.concurrency} must be an integer >= 1 (the local judge's prompts per batch)`);
  if (!(Number.isInteger(opts.maxTokens) && opts.maxTokens >= 1)) throw usageError(`reward.judge.maxTokens ${opts.maxTokens} must be an integer >= 1`);
  const tok = loadTokenizer(dir);
  if (tok.chat.template === "unrecognized") {
    throw usageError(`reward.judge.model '${dir}': its chat_template is neither ChatML nor DeepSeek-R1, so the judge prompt cannot be written in it`);
  }
  const { config, params } = await loadCheckpoint(gpu, dir);
  const stopIds = modelStopIds(tok, config);
  const queue: Pending[] = [];
  let draining = false;
  let closed = false;

  async function answerBatch(batch: Pending[]): Promise<void> {
    try {
      const samples = await generate(gpu, config, params, batch.map((p) => p.ids), {
        n: 1,
        maxNewTokens: opts.maxTokens,
        temperature: 0,
        seed: 0,
        stopIds,
        stopStrings: VERDICTS,
        decode: (ids) => tok.decode(ids),
      });
      samples.forEach((s, i) => batch[i]!.done({ reply: tok.decode(s.ids) }));
    } catch (err) {
      const error = `generate: ${(err as Error)?.message ?? String(err)}`;
      for (const p of batch) p.done({ error });
    }
  }

  // One batch at a time on the GPU; the questions that arrived meanwhile make the next batch.
  async function drain(): Promise<void> {
    draining = true;
    try {
      while (queue.length > 0) {
        await new Promise<void>((r) => setImmediate(r)); // let the rest of a burst of asks (cache reads) arrive
        await answerBatch(queue.splice(0, opts.concurrency));
      }
    } finally {
      draining = false;
    }
  }

  function reply(question: string, prediction: string, gold: string): Promise<JudgeReply> {
    if (closed) return Promise.resolve({ error: "judge closed" });
    const ids = localJudgePrompt(tok, question, prediction, gold);
    if (ids.length + opts.maxTokens > config.maxPositions) return Promise.resolve({ error: "prompt too long" });
    return new Promise<JudgeReply>((done) => {
      queue.push({ ids, done });
      if (!draining) void drain();
    });
  }

  // Verdicts are cached per model directory: a different judge directory never reuses them.
  return judgeOver("local", { cacheModel: `local:${resolve(dir)}`, cacheDir: opts.cacheDir }, reply, undefined, () => {
    if (closed) return;
    closed = true;
    releaseParams(gpu, params);
  });
}
