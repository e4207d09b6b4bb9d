// The one encoder behind every tokenizer: tiktoken's BPE (WASM, Rust fancy-regex pre-tokenizer) plus
// added tokens split out first, an optional NFC normalizer, and id checks on decode. Knows nothing of file formats.
import type { Tiktoken } from "tiktoken";
import { runError } from "../util/errors.ts";
import type { LoadedTokenizer, TokenizerMeta } from "./index.ts";

export interface AddedToken {
  content: string;
  id: number;
  /** HF `lstrip`/`rstrip`: the token also takes the whitespace on its left / right. */
  lstrip?: boolean;
  rstrip?: boolean;
}

export interface BpeSpec extends TokenizerMeta {
  /** Encoder with the ordinary (BPE) ranks; its own special tokens are only used by decode. */
  enc: Tiktoken;
  /** Number of BPE ranks: ids [0, nRanks) are ordinary tokens (holes allowed, see `hasRank`). */
  nRanks: number;
  /** For vocabularies with unused ids below nRanks; absent means every id below nRanks is a token. */
  hasRank?: (id: number) => boolean;
  /** Tokens matched in the raw text before normalization and BPE (HF added tokens, tiktoken specials). */
  added: readonly AddedToken[];
  /** HF `normalizer: NFC`, applied to the text between added tokens. */
  nfc: boolean;
  /**
   * Byte length of each rank, for HF tokenizers: encode checks that the pieces cover the whole text,
   * since tiktoken drops what its pre-tokenizer pattern does not match (HF keeps it).
   */
  rankBytes?: Uint16Array;
}

// ignoreBOM: a leading U+FEFF is text, not a byte-order mark to drop.
const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Builds a LoadedTokenizer around a tiktoken encoder. */
export function createBpeTokenizer(spec: BpeSpec): LoadedTokenizer {
  const { enc, nRanks, nfc, rankBytes } = spec;
  const specialTokens: Record<string, number> = {};
  for (const a of spec.added) specialTokens[a.content] = a.id;
  const addedIds = new Set(spec.added.map((a) => a.id));
  const byContent = new Map(spec.added.map((a) => [a.content, a]));
  const splitter = addedTokenPattern(spec.added);
  const vocabSize = Math.max(nRanks, ...spec.added.map((a) => a.id + 1));
  const known = (id: number) =>
    Number.isInteger(id) && id >= 0 && ((id < nRanks && (spec.hasRank?.(id) ?? true)) || addedIds.has(id));

  // Ordinary text between added tokens: normalize, pre-tokenize + BPE, and check coverage.
  const ordinary = (segment: string): Uint32Array => {
    const text = nfc ? segment.normalize("NFC") : segment;
    const ids = enc.encode_ordinary(text);
    if (rankBytes) {
      let n = 0;
      for (let i = 0; i < ids.length; i++) n += rankBytes[ids[i]!]!;
      const want = Buffer.byteLength(text, "utf8");
      if (n !== want) {
        throw runError(
          `${spec.name}: the pre-tokenizer pattern left ${want - n} bytes of the text unmatched ` +
            `(tiktoken drops them, Hugging Face keeps them); this tokenizer.json's pattern is not supported`,
        );
      }
    }
    return ids;
  };

  // Calls visitIds(ids of an ordinary segment) or visitAdded(id), in text order.
  const walk = (text: string, visitIds: (ids: Uint32Array) => void, visitAdded: (id: number) => void): void => {
    let last = 0;
    if (splitter) {
      for (const m of text.matchAll(splitter)) {
        if (m.index < last) continue; // inside whitespace an rstrip token already took
        const a = byContent.get(m[0])!;
        let start = m.index;
        let end = start + m[0].length;
        if (a.lstrip) while (start > last && isSpace(text.charCodeAt(start - 1))) start--;
        if (a.rstrip) while (end < text.length && isSpace(text.charCodeAt(end))) end++;
        if (start > last) visitIds(ordinary(text.slice(last, start)));
        visitAdded(a.id);
        last = end;
      }
    }
    if (last < text.length) visitIds(ordinary(last === 0 ? text : text.slice(last)));
  };

  const encode = (text: string): number[] => {
    const out: number[] = [];
    walk(
      text,
      (ids) => {
        for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
      },
      (id) => out.push(id),
    );
    return out;
  };

  const count = (text: string): number => {
    let n = 0;
    walk(text, (ids) => (n += ids.length), () => n++);
    return n;
  };

  const decodeBytes = (ids: readonly number[]): Uint8Array => {
    for (const id of ids) {
      if (!known(id)) throw runError(`${spec.name}: token id ${id} is not in the vocabulary (${vocabSize} ids); it cannot be decoded`);
    }
    return enc.decode(Uint32Array.from(ids));
  };

  // Every byte is a token (hf.ts checks it; tiktoken encodings have all 256), so this call cannot fail.
  const byteTokenIds = Array.from({ length: 256 }, (_, b) => enc.encode_single_token(Uint8Array.of(b)));

  return {
    name: spec.name,
    kind: spec.kind,
    source: spec.source,
    bosToken: spec.bosToken,
    eosToken: spec.eosToken,
    padToken: spec.padToken,
    addBos: spec.addBos,
    chat: spec.chat,
    vocabSize,
    specialTokens,
    byteTokenIds,
    encode,
    count,
    decodeBytes,
    decode: (ids) => utf8.decode(decodeBytes(ids)),
    tokenId: (text) => {
      // Through encode, never tiktoken's encode_single_token: every failed WASM call leaks shadow stack.
      const ids = text === "" ? [] : encode(text);
      return ids.length === 1 ? ids[0] : undefined;
    },
  };
}

/**
 * One regex for all added tokens, longest first, so that the leftmost-longest one wins (HF matches added
 * tokens with Aho-Corasick, leftmost-longest, then widens lstrip/rstrip tokens over adjacent whitespace).
 */
function addedTokenPattern(added: readonly AddedToken[]): RegExp | undefined {
  if (added.length === 0) return undefined;
  const sorted = [...added].sort((a, b) => b.content.length - a.content.length);
  return new RegExp(sorted.map((a) => escapeRegex(a.content)).join("|"), "gu");
}

// Rust's char::is_whitespace (Unicode White_Space), which HF uses for lstrip/rstrip.
function isSpace(c: number): boolean {
  return (c >= 9 && c <= 13) || c === 32 || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"); // only syntax characters: a "u" regex refuses \-
}
