// Tokenizer interface and tiktoken named encodings (via the `tiktoken` npm package, WASM BPE).
// A minimal start: HF tokenizer.json import, chat templates and compact vocabularies arrive with issue 4.
import { get_encoding, type Tiktoken, type TiktokenEncoding } from "tiktoken";
import { closest, usageError } from "../util/errors.ts";

export interface Tokenizer {
  readonly name: string;
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** Number of tokens of `text`; cheaper than encode().length (no array copy). */
  count(text: string): number;
}

/** The tiktoken encodings longrl accepts by name. */
export const TIKTOKEN_NAMES = ["cl100k_base", "o200k_base", "p50k_base", "r50k_base", "gpt2"] as const;

// Encoders are kept for the life of the process: loading o200k_base takes ~150 ms, and a run uses one or two.
const cache = new Map<string, Tokenizer>();

export function loadTokenizer(name: string): Tokenizer {
  const hit = cache.get(name);
  if (hit) return hit;
  if (!(TIKTOKEN_NAMES as readonly string[]).includes(name)) {
    const hint = closest(name, TIKTOKEN_NAMES) ?? TIKTOKEN_NAMES.find((n) => name !== "" && n.startsWith(name));
    throw usageError(
      `tokenizer '${name}' is not known${hint ? `; did you mean '${hint}'?` : ""} ` +
        `(valid names: ${TIKTOKEN_NAMES.join(", ")}; a tokenizer.json path arrives with issue 4)`,
    );
  }
  const tok = wrapTiktoken(name, get_encoding(name as TiktokenEncoding));
  cache.set(name, tok);
  return tok;
}

function wrapTiktoken(name: string, enc: Tiktoken): Tokenizer {
  const utf8 = new TextDecoder();
  // allowed_special "all": text that spells a special token (e.g. <|endoftext|>) encodes as that token,
  // as HF tokenizers do; documents are our own data, not an attack surface.
  return {
    name,
    encode: (text) => Array.from(enc.encode(text, "all")),
    decode: (ids) => utf8.decode(enc.decode(Uint32Array.from(ids))),
    count: (text) => enc.encode(text, "all").length,
  };
}
