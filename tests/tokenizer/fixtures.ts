// Tiny byte-level BPE tokenizer.json objects for tests: the 256 byte tokens (id = byte) plus chosen merges,
// in the Qwen2 layout (NFC, [Split, ByteLevel], ByteLevel decoder); tests change one field to probe a rule.
import { bytesToByteLevel } from "../../src/tokenizer/bytelevel.ts";

export const QWEN_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Byte-level string of a text (UTF-8 bytes, GPT-2 alphabet). */
export const bl = (s: string): string => bytesToByteLevel(new TextEncoder().encode(s));

export type Json = Record<string, any>;

/** A tokenizer.json whose merges are `merges` (text pairs, in order); new merged tokens get ids 256, 257, ... */
export function tinyTokenizerJson(merges: [string, string][], added: Json[] = []): Json {
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[bytesToByteLevel(Uint8Array.of(b))] = b;
  let next = 256;
  for (const [a, b] of merges) vocab[bl(a + b)] ??= next++;
  return {
    version: "1.0",
    added_tokens: added,
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: QWEN_PATTERN }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: { type: "BPE", dropout: null, unk_token: null, byte_fallback: false, vocab, merges: merges.map(([a, b]) => [bl(a), bl(b)]) },
  };
}

/** An added token entry as tokenizer.json writes it. */
export function addedToken(id: number, content: string, extra: Json = {}): Json {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...extra };
}
