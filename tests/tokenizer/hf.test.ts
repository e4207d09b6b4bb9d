// tokenizer.json import on tiny byte-level vocabularies: BPE results, merge-order checks, added tokens
// (lstrip/rstrip), BOS from the post-processor, files on disk, and a clear error for each unsupported field.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { hfTokenizerFromJson } from "../../src/tokenizer/hf.ts";
import { loadTokenizer } from "../../src/tokenizer/index.ts";
import { LongrlError } from "../../src/util/errors.ts";
import { addedToken, tinyTokenizerJson, type Json } from "./fixtures.ts";
import { tempDirs } from "../helpers.ts";

const tmp = tempDirs();
afterAll(tmp.removeAll);

const MERGES: [string, string][] = [["a", "b"], ["b", "c"], ["ab", "c"], [" ", "a"]];
const build = (json: Json, config?: Json) => hfTokenizerFromJson(json, config, { file: "tiny/tokenizer.json" });

/** The error build() throws, which must be a usage error (exit 2) naming the file. */
function buildError(json: Json): string {
  try {
    build(json);
  } catch (e) {
    expect(e).toBeInstanceOf(LongrlError);
    expect((e as LongrlError).exitCode).toBe(2);
    expect((e as Error).message.startsWith("tiny/tokenizer.json: ")).toBe(true);
    return (e as Error).message;
  }
  throw new Error("expected an error");
}

describe("byte-level BPE from a tiny tokenizer.json", () => {
  const tok = build(tinyTokenizerJson(MERGES));

  test("applies merges by rank", () => {
    expect(tok.encode("abc")).toEqual([258]);
    expect(tok.encode("bcab")).toEqual([257, 256]); // ab (256) merges before bc (257); no "bcab" token
    expect(tok.encode("x abc")).toEqual([120, 32, 258]); // " abc": " a" is rank 259, so ab then abc win first
    expect(tok.encode("é")).toEqual([0xc3, 0xa9]);
    expect(tok.decode(tok.encode("x abc é"))).toBe("x abc é");
    expect(tok.vocabSize).toBe(260);
    expect(tok.chat.template).toBe("none");
  });

  test("merges whose result ids do not grow with their order are refused", () => {
    const j = tinyTokenizerJson([["a", "b"], ["b", "c"]]);
    j.model.merges.reverse();
    expect(buildError(j)).toContain("model.merges disagree with the vocabulary's id order");
  });

  test("merges that build a token from another split than rank order would are refused", () => {
    const j = tinyTokenizerJson([["a", "b"], ["b", "c"], ["a", "bc"]]);
    expect(buildError(j)).toContain(`model.merges disagree with rank-ordered BPE: token "abc" (id 258)`);
  });

  test("every valid split of a token listed as a merge (Llama-3's export) is accepted", () => {
    const t = build(tinyTokenizerJson([["a", "b"], ["b", "c"], ["ab", "c"], ["a", "bc"]]));
    expect(t.encode("abc")).toEqual([258]);
    expect(t.vocabSize).toBe(259);
  });

  test("added tokens split first; lstrip/rstrip take the adjacent whitespace", () => {
    const t = build(tinyTokenizerJson(MERGES, [addedToken(300, "<m>", { lstrip: true }), addedToken(301, "<r>", { rstrip: true }), addedToken(302, "<mm>"), addedToken(303, "[a-b.*]")]));
    expect(t.encode("a <m> b")).toEqual([97, 300, 32, 98]);
    expect(t.encode("a <r> b")).toEqual([97, 32, 301, 98]);
    expect(t.encode("<mm><m>")).toEqual([302, 300]);
    expect(t.encode("x[a-b.*]")).toEqual([120, 303]); // regex syntax in a token is literal
    expect(t.vocabSize).toBe(304);
    expect(t.decode([302, 97])).toBe("<mm>a");
  });

  test("BOS from a TemplateProcessing post-processor (Llama-3 style), unless tokenizer_config says otherwise", () => {
    const j = tinyTokenizerJson(MERGES, [addedToken(400, "<|begin_of_text|>")]);
    j.post_processor = {
      type: "Sequence",
      processors: [
        { type: "ByteLevel" },
        { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<|begin_of_text|>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }] },
      ],
    };
    const t = build(j);
    expect(t.addBos).toBe(true);
    expect(t.bosToken).toBe("<|begin_of_text|>");
    expect(t.encode("ab")).toEqual([256]); // encode itself never adds it
    expect(build(j, { add_bos_token: false }).addBos).toBe(false);
  });

  test("a GPT-2 style ByteLevel pre-tokenizer (use_regex) splits with the GPT-2 pattern", () => {
    const j = tinyTokenizerJson(MERGES);
    j.pre_tokenizer = { type: "ByteLevel", add_prefix_space: false, use_regex: true };
    const t = build(j);
    expect(t.encode("ab 12")).toEqual([256, 32, 49, 50]);
  });

  test("text the pattern does not cover is an error, not silently dropped", () => {
    const j = tinyTokenizerJson(MERGES);
    j.pre_tokenizer.pretokenizers[0].pattern.Regex = "\\p{L}+";
    const t = build(j);
    expect(t.encode("abc")).toEqual([258]);
    expect(() => t.encode("ab 12")).toThrow("left 3 bytes of the text unmatched");
  });
});

describe("unsupported tokenizer.json fields are refused by name", () => {
  const cases: [string, (j: Json) => void, string][] = [
    ["WordPiece", (j) => (j.model.type = "WordPiece"), "model.type 'WordPiece' is not supported"],
    ["Unigram", (j) => (j.model = { type: "Unigram", vocab: [["a", 0]] }), "model.type 'Unigram' is not supported"],
    ["byte fallback", (j) => (j.model.byte_fallback = true), "model.byte_fallback true is not supported"],
    ["dropout", (j) => (j.model.dropout = 0.1), "model.dropout 0.1 is not supported"],
    ["suffix", (j) => (j.model.end_of_word_suffix = "</w>"), "model.end_of_word_suffix '</w>' is not supported"],
    ["NFKC", (j) => (j.normalizer = { type: "NFKC" }), "normalizer.type 'NFKC' is not supported (only NFC)"],
    ["Lowercase", (j) => (j.normalizer = { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Lowercase" }] }), "normalizer.normalizers[1].type 'Lowercase'"],
    ["Metaspace", (j) => (j.pre_tokenizer = { type: "Metaspace", replacement: "▁" }), "pre_tokenizer.type 'Metaspace' is not supported"],
    ["Digits", (j) => j.pre_tokenizer.pretokenizers.unshift({ type: "Digits", individual_digits: true }), "pre_tokenizer.pretokenizers has 3 steps"],
    ["Removed", (j) => (j.pre_tokenizer.pretokenizers[0].behavior = "Removed"), "pre_tokenizer.pretokenizers[0].behavior 'Removed' is not supported"],
    ["invert", (j) => (j.pre_tokenizer.pretokenizers[0].invert = true), "pre_tokenizer.pretokenizers[0].invert true"],
    ["prefix space", (j) => (j.pre_tokenizer.pretokenizers[1].add_prefix_space = true), "pre_tokenizer.pretokenizers[1].add_prefix_space true"],
    ["bad regex", (j) => (j.pre_tokenizer.pretokenizers[0].pattern.Regex = "\\p{NotAClass}+"), "pre_tokenizer.pretokenizers[0].pattern.Regex \"\\\\p{NotAClass}+\" is not a pattern"],
    ["decoder", (j) => (j.decoder = { type: "Metaspace" }), "decoder"],
    ["single_word", (j) => j.added_tokens.push(addedToken(300, "<x>", { single_word: true })), "added_tokens[0].single_word true is not supported"],
    ["added id clash", (j) => j.added_tokens.push(addedToken(5, "ab")), "added_tokens[0].id 5 differs from model.vocab's 256"],
    ["added id taken", (j) => j.added_tokens.push(addedToken(97, "<x>")), "added_tokens[0].id 97 is already model.vocab's token for other text"],
    ["not byte-level", (j) => (j.model.vocab["▁the"] = 999), `model.vocab entry "▁the" (id 999) is not a byte-level token`],
    ["missing byte", (j) => delete j.model.vocab["Ā"], "has 255 of the 256 single-byte tokens"],
  ];
  for (const [name, edit, message] of cases) {
    test(name, () => {
      const j = tinyTokenizerJson(MERGES);
      edit(j);
      expect(buildError(j)).toContain(message);
    });
  }
});

describe("files", () => {
  test("a directory with tokenizer.json and tokenizer_config.json loads through loadTokenizer", () => {
    const dir = tmp.make("longrl-tok-");
    writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tinyTokenizerJson(MERGES, [addedToken(260, "<|im_start|>"), addedToken(261, "<|im_end|>")])));
    writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ eos_token: { content: "<|im_end|>" }, chat_template: "{{'<|im_start|>' + m + '<|im_end|>'}}" }));
    const t = loadTokenizer(dir);
    expect(t.kind).toBe("hf");
    expect(t.eosToken).toBe("<|im_end|>");
    expect(t.chat.template).toBe("chatml");
    expect(t.encode("<|im_start|>abc")).toEqual([260, 258]);
    expect(loadTokenizer(join(dir, "tokenizer.json"))).toBe(t); // one load per file
  });

  test("errors name the file: missing tokenizer.json, bad JSON, unknown name", () => {
    const dir = tmp.make("longrl-tok-");
    expect(() => loadTokenizer(dir)).toThrow(`${dir}: no tokenizer.json in this directory`);
    writeFileSync(join(dir, "tokenizer.json"), "{ not json");
    expect(() => loadTokenizer(dir)).toThrow(`${join(dir, "tokenizer.json")}: not valid JSON`);
    expect(() => loadTokenizer("cl100k")).toThrow("did you mean 'cl100k_base'?");
  });
});
