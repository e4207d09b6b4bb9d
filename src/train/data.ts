// The run's tokenized data: records (JSONL or the synthetic generator), the tokenizer (a compact
// vocabulary for a fresh model), and per record the chat-templated prompt ids and the gold
// response ids (reasoning + answer sentence + end of turn) that SFT trains on. Prompt lengths
// here are what the curriculum's phases and the eval buckets count.
import { existsSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import type { RunConfig } from "../config/schema.ts";
import { loadRecords } from "../data/load.ts";
import { buildPrompt, goldResponse } from "../data/prompt.ts";
import type { DocRecord } from "../data/record.ts";
import { generateRecords } from "../data/synth.ts";
import { generateCopyRecords, generateRecitations } from "../data/synthCopy.ts";
import { applyChatTemplate, chatStopTokens, chooseChatFormat, type ChatFormat, loadBaseTokenizer, loadTokenizer, type LoadedTokenizer, TIKTOKEN_NAMES } from "../tokenizer/index.ts";
import { buildCompactVocab, COMPACT_VOCAB_FILE, compactTokenizer, type CompactVocab, loadCompactVocab, saveCompactVocab } from "../tokenizer/compact.ts";
import { usageError } from "../util/errors.ts";

export interface Example {
  record: DocRecord;
  /** The templated prompt (generation prompt included, `<think>\n` when configured). */
  promptText: string;
  promptIds: number[];
  /** Gold response ids, ending with the end-of-turn token: the SFT target. */
  goldIds: number[];
}

export interface RunData {
  tokenizer: LoadedTokenizer;
  chat: ChatFormat;
  /** Ids that end a response (end of turn, EOS). */
  stopIds: number[];
  /** Set when the model uses a compact vocabulary (saved with every checkpoint). */
  vocab?: CompactVocab;
  /** A tokenizer read from files (a model directory's, a tokenizer.json): checkpoint file name → source, copied into every checkpoint. */
  tokenizerFiles: Record<string, string>;
  train: Example[];
  eval: Example[];
  /** SFT's own records (data.sftTrain or data.sftSynth); undefined: SFT draws from `train`. */
  sft?: Example[];
  /** The pretraining stage's copy lists and recitations (pretrain.enable) and 32 held-out ones of each kind; empty otherwise. */
  pretrain: Example[];
  pretrainEval: Example[];
}

/** Copy lists (and as many recitations) held out for the pretraining stage's held-out loss. */
export const PRETRAIN_HELD_OUT = 32;

/** The copy stage's data seed: pretrain.dataSeed, or the run's seed when it is -1. */
export function pretrainDataSeed(cfg: RunConfig): number {
  return cfg.pretrain.dataSeed >= 0 ? cfg.pretrain.dataSeed : cfg.seed;
}

function records(cfg: RunConfig, which: "train" | "eval" | "sft", base: LoadedTokenizer): DocRecord[] {
  const file = cfg.data[which === "sft" ? "sftTrain" : which];
  if (file !== "") return loadRecords(file).records;
  const synth = { train: cfg.data.synth, eval: cfg.data.evalSynth, sft: cfg.data.sftSynth }[which];
  return generateRecords({ ...synth, tokenizer: cfg.tokenizer.name || "cl100k_base" }, base);
}

/** The user turn as the model sees it, and the response SFT teaches (minus what the prompt already opened). */
function texts(r: DocRecord, chat: ChatFormat, think: boolean): { prompt: string; response: string } {
  const prompt = applyChatTemplate(chat, [{ role: "user", content: buildPrompt(r) }], { addGenerationPrompt: true, thinking: think });
  let response = goldResponse(r);
  if (prompt.endsWith("<think>\n") && response.startsWith("<think>\n")) response = response.slice("<think>\n".length);
  return { prompt, response };
}

/**
 * Loads and tokenizes the run's data. With a compact vocabulary, `vocabFile` is read when it exists
 * (a resumed run keeps its ids) and otherwise built from the train and eval texts and written there.
 */
export function prepareData(cfg: RunConfig, vocabFile: string, opts: { evalOnly?: boolean } = {}): RunData {
  const fresh = cfg.model.path === "";
  const tokName = cfg.tokenizer.name || cfg.model.path;
  if (tokName === "") throw usageError("tokenizer.name is empty and model.path is empty: name a tiktoken encoding (cl100k_base) or a model directory");
  if (!fresh && cfg.tokenizer.compactVocab) throw usageError("tokenizer.compactVocab: only a fresh model (model.path \"\") can use a compact vocabulary; a pretrained embedding keeps its ids. Set tokenizer.compactVocab=false");
  // A model directory's tokenizer may itself be compact (a longrl checkpoint): loadTokenizer reads either kind.
  const base = fresh ? loadBaseTokenizer(tokName) : loadTokenizer(tokName);
  const chat = chooseChatFormat(base.chat, cfg.tokenizer.chatTemplate);
  const train = opts.evalOnly ? [] : records(cfg, "train", base);
  const held = records(cfg, "eval", base);
  const ownSft = !opts.evalOnly && cfg.sft.enable && (cfg.data.sftTrain !== "" || cfg.data.sftSynth.n > 0);
  const sft = ownSft ? records(cfg, "sft", base) : [];
  const pre = !opts.evalOnly && cfg.pretrain.enable;
  const copy = pre ? generateCopyRecords({ n: cfg.pretrain.records + PRETRAIN_HELD_OUT, minItems: cfg.pretrain.minItems, maxItems: cfg.pretrain.maxItems, seed: pretrainDataSeed(cfg), digitShare: cfg.pretrain.digitShare }) : [];
  const rc = cfg.pretrain.recite;
  // seed + 1000: documents apart from data.synth's, data.evalSynth's and data.sftSynth's generator seeds (0, 1, 2)
  const recite = pre && rc.records > 0 ? generateRecitations({ ...rc, n: rc.records + PRETRAIN_HELD_OUT, seed: (pretrainDataSeed(cfg) + 1000) % 2 ** 32, tokenizer: cfg.tokenizer.name || "cl100k_base" }, base) : [];
  const trainTexts = train.map((r) => texts(r, chat, cfg.tokenizer.think));
  const evalTexts = held.map((r) => texts(r, chat, cfg.tokenizer.think));
  const sftTexts = sft.map((r) => texts(r, chat, cfg.tokenizer.think));
  const copyTexts = copy.map((r) => texts(r, chat, cfg.tokenizer.think));
  const reciteTexts = recite.map((r) => texts(r, chat, cfg.tokenizer.think));
  let tokenizer: LoadedTokenizer = base;
  let vocab: CompactVocab | undefined;
  if (fresh && cfg.tokenizer.compactVocab) {
    if (existsSync(vocabFile)) ({ vocab, tokenizer } = loadCompactVocab(vocabFile));
    else {
      // The eval texts are included: the vocabulary is a tokenizer, not a label (unseen ids would fall back to bytes).
      const all = [...trainTexts, ...evalTexts, ...sftTexts, ...copyTexts, ...reciteTexts].flatMap((t) => [t.prompt, t.response]);
      vocab = buildCompactVocab(base, all);
      saveCompactVocab(vocabFile, vocab);
      tokenizer = compactTokenizer(base, vocab);
    }
  }
  const stops = chatStopTokens(chat, tokenizer.eosToken);
  const stopIds = stops.map((s) => tokenizer.tokenId(s)).filter((id): id is number => id !== undefined);
  if (stopIds.length === 0) throw usageError(`tokenizer ${tokenizer.name}: none of the end-of-turn tokens ${stops.join(", ")} is a single token; choose another chat template`);
  const tokenize = (r: DocRecord, t: { prompt: string; response: string }): Example => ({
    record: r,
    promptText: t.prompt,
    promptIds: tokenizer.encode(t.prompt),
    goldIds: [...tokenizer.encode(t.response), stopIds[0]!],
  });
  const copyExamples = copy.map((r, i) => tokenize(r, copyTexts[i]!));
  const reciteExamples = recite.map((r, i) => tokenize(r, reciteTexts[i]!));
  return {
    tokenizer,
    chat,
    stopIds,
    vocab,
    tokenizerFiles: vocab ? {} : tokenizerFiles(tokName),
    train: train.map((r, i) => tokenize(r, trainTexts[i]!)),
    eval: held.map((r, i) => tokenize(r, evalTexts[i]!)),
    sft: ownSft ? sft.map((r, i) => tokenize(r, sftTexts[i]!)) : undefined,
    pretrain: [...copyExamples.slice(0, cfg.pretrain.records), ...reciteExamples.slice(0, rc.records)],
    pretrainEval: [...copyExamples.slice(cfg.pretrain.records), ...reciteExamples.slice(rc.records)],
  };
}

/** Files a tokenizer directory (or a tokenizer file) holds that loadTokenizer reads; none for a tiktoken name. */
const TOKENIZER_FILES = [COMPACT_VOCAB_FILE, "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"];

function tokenizerFiles(name: string): Record<string, string> {
  if ((TIKTOKEN_NAMES as readonly string[]).includes(name) || !existsSync(name)) return {}; // loadTokenizer reads a name before a path
  if (!statSync(name).isDirectory()) return { [basename(name)]: name };
  return Object.fromEntries(TOKENIZER_FILES.filter((f) => existsSync(join(name, f))).map((f) => [f, join(name, f)]));
}

export function vocabPath(runDir: string): string {
  return join(runDir, COMPACT_VOCAB_FILE);
}
