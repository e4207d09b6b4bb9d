// Compact vocabulary for tiny models trained from scratch: the base-tokenizer ids that occur in the training
// texts, plus the specials the model needs and the 256 single-byte tokens, renumbered 0..n-1 in base-id order.
// A base token outside the set is spelled with its bytes (byte fallback), so encoding never fails and decode
// round-trips; there is no <unk>. Stored with the checkpoint as longrl_vocab.json (base name + id list).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { runError, usageError } from "../util/errors.ts";
import { chatSpecialTokens } from "./chat.ts";
import { loadBaseTokenizer, type LoadedTokenizer } from "./index.ts";

export const COMPACT_VOCAB_FILE = "longrl_vocab.json";
const FORMAT = "longrl-compact-vocab";

export interface CompactVocab {
  /** The base tokenizer: a tiktoken name, or a tokenizer.json path (relative: to the vocab file's directory). */
  base: string;
  /** The base's vocabSize when the list was made; a different base is refused on load. */
  baseVocabSize: number;
  /** ids[c] = base id of compact id c, ascending. */
  ids: number[];
}

/**
 * The vocabulary of `texts` under `base`: every id they encode to, the 256 byte tokens, BOS/EOS/PAD, the chat
 * format's markers, and `extraSpecials` (token strings; each must be a single base token).
 */
export function buildCompactVocab(base: LoadedTokenizer, texts: Iterable<string>, extraSpecials: readonly string[] = []): CompactVocab {
  const used = new Set<number>(base.byteTokenIds);
  const required = [base.bosToken, base.eosToken, base.padToken, ...chatSpecialTokens(base.chat), ...extraSpecials];
  for (const s of required) {
    if (s === undefined) continue;
    const id = base.tokenId(s);
    if (id === undefined) throw usageError(`compact vocabulary: '${s}' is not a single token of ${base.name}`);
    used.add(id);
  }
  for (const t of texts) for (const id of base.encode(t)) used.add(id);
  return { base: base.source, baseVocabSize: base.vocabSize, ids: [...used].sort((a, b) => a - b) };
}

/** A tokenizer over the compact ids: base encode then map (byte fallback for ids outside), unmap then base decode. */
export function compactTokenizer(base: LoadedTokenizer, vocab: CompactVocab): LoadedTokenizer {
  checkVocab(vocab, base, "compact vocabulary");
  const toCompact = new Map<number, number>();
  vocab.ids.forEach((id, c) => toCompact.set(id, c));
  const byteIds = base.byteTokenIds.map((id) => toCompact.get(id)!);
  const specialTokens: Record<string, number> = {};
  for (const [s, id] of Object.entries(base.specialTokens)) {
    const c = toCompact.get(id);
    if (c !== undefined) specialTokens[s] = c;
  }

  const mapIds = (ids: readonly number[]): number[] => {
    const out: number[] = [];
    for (const id of ids) {
      const c = toCompact.get(id);
      if (c !== undefined) out.push(c);
      else for (const b of base.decodeBytes([id])) out.push(byteIds[b]!);
    }
    return out;
  };
  const unmap = (ids: readonly number[]): number[] =>
    ids.map((c) => {
      const id = Number.isInteger(c) ? vocab.ids[c] : undefined;
      if (id === undefined) throw runError(`${base.name}: compact token id ${c} is outside the compact vocabulary (${vocab.ids.length} ids)`);
      return id;
    });

  return {
    name: `compact${vocab.ids.length}:${base.name}`,
    kind: "compact",
    source: base.source,
    bosToken: base.bosToken,
    eosToken: base.eosToken,
    padToken: base.padToken,
    addBos: base.addBos,
    chat: base.chat,
    vocabSize: vocab.ids.length,
    specialTokens,
    byteTokenIds: byteIds,
    encode: (text) => mapIds(base.encode(text)),
    count: (text) => mapIds(base.encode(text)).length,
    decode: (ids) => base.decode(unmap(ids)),
    decodeBytes: (ids) => base.decodeBytes(unmap(ids)),
    tokenId: (text) => {
      const id = base.tokenId(text);
      return id === undefined ? undefined : toCompact.get(id);
    },
  };
}

/** Writes `{format, version, base, baseVocabSize, ids}` as JSON (the id list on one line). */
export function saveCompactVocab(file: string, vocab: CompactVocab): void {
  writeFileSync(file, `${JSON.stringify({ format: FORMAT, version: 1, ...vocab })}\n`);
}

/** Reads a saved vocabulary and loads its base tokenizer; a relative base path is tried next to `file` first. */
export function loadCompactVocab(file: string): { vocab: CompactVocab; tokenizer: LoadedTokenizer } {
  if (!existsSync(file)) throw usageError(`${file}: no such compact vocabulary file`);
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw usageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (j?.format !== FORMAT || j.version !== 1) throw usageError(`${file}: format must be "${FORMAT}" version 1`);
  if (typeof j.base !== "string" || j.base === "") throw usageError(`${file}: base must name a tokenizer`);
  if (!Array.isArray(j.ids) || !j.ids.every((x) => Number.isInteger(x))) throw usageError(`${file}: ids must be a list of integers`);
  if (!Number.isInteger(j.baseVocabSize)) throw usageError(`${file}: baseVocabSize must be an integer`);
  const vocab: CompactVocab = { base: j.base, baseVocabSize: j.baseVocabSize as number, ids: j.ids as number[] };
  const beside = join(dirname(file), vocab.base);
  const base = loadBaseTokenizer(!isAbsolute(vocab.base) && existsSync(beside) ? beside : vocab.base);
  checkVocab(vocab, base, file);
  return { vocab, tokenizer: compactTokenizer(base, vocab) };
}

function checkVocab(vocab: CompactVocab, base: LoadedTokenizer, where: string): void {
  if (vocab.baseVocabSize !== base.vocabSize) {
    throw usageError(`${where}: made for a base with ${vocab.baseVocabSize} ids, but ${base.name} has ${base.vocabSize}; use the tokenizer it was made with`);
  }
  for (let i = 0; i < vocab.ids.length; i++) {
    const id = vocab.ids[i]!;
    if (id < 0 || id >= base.vocabSize || (i > 0 && id <= vocab.ids[i - 1]!)) {
      throw usageError(`${where}: ids[${i}] = ${id} must be ascending and below ${base.vocabSize}`);
    }
  }
  const have = new Set(vocab.ids);
  for (const b of base.byteTokenIds) {
    if (!have.has(b)) throw usageError(`${where}: lacks the single-byte token ${b}; rebuild it with buildCompactVocab`);
  }
}
