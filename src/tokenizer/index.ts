// Tokenizer interface and loadTokenizer: a tiktoken encoding by name (ranks embedded in tiktoken's WASM, wasm.ts),
// a Hugging Face byte-level BPE tokenizer.json (hf.ts), or a compact vocabulary (compact.ts). encode never adds
// BOS/EOS or a chat template: callers apply chat.ts and prepend BOS themselves (see `addBos`).
import { existsSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { TiktokenEncoding } from "tiktoken";
import { closest, usageError } from "../util/errors.ts";
import { createBpeTokenizer, type AddedToken } from "./bpe.ts";
import { CHATML, type ChatFormat } from "./chat.ts";
import { COMPACT_VOCAB_FILE, loadCompactVocab } from "./compact.ts";
import { loadHfTokenizer, tokenizerJsonPath } from "./hf.ts";
import { tiktoken } from "./wasm.ts";

export interface Tokenizer {
  readonly name: string;
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** Number of tokens of `text`; cheaper than encode().length (no array copy). */
  count(text: string): number;
}

/** What a tokenizer knows besides its vocabulary: where it came from and its special tokens' roles. */
export interface TokenizerMeta {
  readonly name: string;
  readonly kind: "tiktoken" | "hf" | "compact";
  /** What loadTokenizer was given (encoding name or path), to store with a checkpoint. */
  readonly source: string;
  readonly bosToken?: string;
  readonly eosToken?: string;
  readonly padToken?: string;
  /** The tokenizer's own config prepends BOS when asked to add special tokens (Llama-3, R1-Distill). */
  readonly addBos: boolean;
  /** Chat format from tokenizer_config.json (or ChatML for tiktoken encodings); see chat.ts. */
  readonly chat: ChatFormat;
}

/** What loadTokenizer returns. Text spelling an added/special token (`<|im_start|>`) encodes as that token. */
export interface LoadedTokenizer extends Tokenizer, TokenizerMeta {
  /** Embedding rows the ids need: largest id + 1 (a model's vocab_size may be larger, padded). */
  readonly vocabSize: number;
  /** Added and special tokens, content → id. */
  readonly specialTokens: Readonly<Record<string, number>>;
  /** byteTokenIds[b] = id of the token that is the single byte b. */
  readonly byteTokenIds: readonly number[];
  /** The raw bytes of ids (UTF-8, possibly cut inside a character): for incremental decoding. */
  decodeBytes(ids: readonly number[]): Uint8Array;
  /** The id `text` encodes to when that is exactly one token (a special token, " the"), else undefined. */
  tokenId(text: string): number | undefined;
}

/** The tiktoken encodings longrl accepts by name. */
export const TIKTOKEN_NAMES = ["cl100k_base", "o200k_base", "p50k_base", "r50k_base", "gpt2"] as const;

// Per encoding: number of BPE ranks (ids 0..n-1), its special tokens (tiktoken's registry.json), and the ids
// given to the ChatML markers so a model trained from scratch can use chat turns: for cl100k/o200k the ids
// OpenAI's chat models use (100264/100265, 200264/200265), for the 50K encodings the next free ids.
const NAMED: Record<(typeof TIKTOKEN_NAMES)[number], { ranks: number; specials: Record<string, number>; chatml: [number, number] }> = {
  gpt2: { ranks: 50256, specials: { "<|endoftext|>": 50256 }, chatml: [50257, 50258] },
  r50k_base: { ranks: 50256, specials: { "<|endoftext|>": 50256 }, chatml: [50257, 50258] },
  p50k_base: { ranks: 50281, specials: { "<|endoftext|>": 50256 }, chatml: [50281, 50282] },
  cl100k_base: {
    ranks: 100256,
    specials: { "<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259, "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276 },
    chatml: [100264, 100265],
  },
  o200k_base: { ranks: 199998, specials: { "<|endoftext|>": 199999, "<|endofprompt|>": 200018 }, chatml: [200264, 200265] },
};

// Encoders are kept for the life of the process: loading o200k_base takes ~150 ms, Qwen's tokenizer.json ~400 ms.
const cache = new Map<string, LoadedTokenizer>();

/**
 * A tiktoken encoding name; a path to a tokenizer.json or a directory holding one; or a compact vocabulary:
 * a longrl_vocab.json, or a directory holding one (a tiny model's checkpoint; it wins over a tokenizer.json there).
 */
export function loadTokenizer(nameOrPath: string): LoadedTokenizer {
  const hit = cache.get(nameOrPath);
  if (hit) return hit;
  const vocabFile = compactVocabFile(nameOrPath);
  if (vocabFile === undefined) return loadBaseTokenizer(nameOrPath);
  const key = resolve(vocabFile);
  const tok = cache.get(key) ?? loadCompactVocab(vocabFile).tokenizer;
  cache.set(key, tok);
  cache.set(nameOrPath, tok);
  return tok;
}

/** loadTokenizer without compact vocabularies: a tiktoken encoding or a tokenizer.json (a compact one's base). */
export function loadBaseTokenizer(nameOrPath: string): LoadedTokenizer {
  const hit = cache.get(nameOrPath);
  if (hit) return hit;
  let tok: LoadedTokenizer;
  if ((TIKTOKEN_NAMES as readonly string[]).includes(nameOrPath)) {
    tok = namedTokenizer(nameOrPath as (typeof TIKTOKEN_NAMES)[number]);
  } else if (nameOrPath !== "" && existsSync(nameOrPath)) {
    const key = tokenizerJsonPath(nameOrPath);
    tok = cache.get(key) ?? loadHfTokenizer(key);
    cache.set(key, tok);
  } else {
    const hint = closest(nameOrPath, TIKTOKEN_NAMES) ?? TIKTOKEN_NAMES.find((n) => nameOrPath !== "" && n.startsWith(nameOrPath));
    throw usageError(
      `tokenizer '${nameOrPath}' is not known${hint ? `; did you mean '${hint}'?` : ""} ` +
        `(valid names: ${TIKTOKEN_NAMES.join(", ")}; or a path to a tokenizer.json, a ${COMPACT_VOCAB_FILE}, or a directory holding one)`,
    );
  }
  cache.set(nameOrPath, tok);
  return tok;
}

// The compact vocabulary file a path names, if it names one.
function compactVocabFile(path: string): string | undefined {
  if (path === "" || !existsSync(path)) return undefined;
  if (basename(path) === COMPACT_VOCAB_FILE) return path;
  const inside = join(path, COMPACT_VOCAB_FILE);
  return statSync(path).isDirectory() && existsSync(inside) ? inside : undefined;
}

function namedTokenizer(name: (typeof TIKTOKEN_NAMES)[number]): LoadedTokenizer {
  const { ranks, specials, chatml } = NAMED[name];
  const extra = { [CHATML.start]: chatml[0], [CHATML.end]: chatml[1] };
  const all = { ...specials, ...extra };
  const added: AddedToken[] = Object.entries(all).map(([content, id]) => ({ content, id }));
  return createBpeTokenizer({
    name,
    kind: "tiktoken",
    source: name,
    eosToken: "<|endoftext|>",
    addBos: false,
    chat: { template: "chatml", thinkByDefault: false },
    enc: tiktoken().get_encoding(name as TiktokenEncoding, extra),
    nRanks: ranks,
    added,
    nfc: false,
  });
}

export { applyChatTemplate, chatStopTokens, chooseChatFormat, type ChatFormat, type ChatMessage, type ChatOptions } from "./chat.ts";
