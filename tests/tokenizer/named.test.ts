// tiktoken encodings by name: known ids, special tokens (their own and the ChatML markers longrl adds),
// exact round trips (no normalizer), id checks on decode.
import { describe, expect, test } from "bun:test";
import { loadTokenizer, TIKTOKEN_NAMES } from "../../src/tokenizer/index.ts";
import { HARD_TEXTS, randomMixes } from "./corpus.ts";

describe("tiktoken encodings", () => {
  const cl = loadTokenizer("cl100k_base");

  test("known ids (tiktoken's own test vectors)", () => {
    expect(cl.encode("hello world")).toEqual([15339, 1917]);
    expect(loadTokenizer("o200k_base").encode("hello world")).toEqual([24912, 2375]);
    expect(loadTokenizer("gpt2").encode("hello world")).toEqual([31373, 995]);
    expect(cl.count("hello world")).toBe(2);
  });

  test("special tokens in text, and the ChatML markers at OpenAI's chat ids", () => {
    expect(cl.encode("a<|endoftext|>b")).toEqual([64, 100257, 65]);
    expect(cl.encode("<|im_start|>user\nhi<|im_end|>")).toEqual([100264, 882, 198, 6151, 100265]);
    expect(loadTokenizer("o200k_base").specialTokens["<|im_end|>"]).toBe(200265);
    expect(loadTokenizer("p50k_base").encode("<|im_start|>")).toEqual([50281]);
    expect(cl.tokenId("<|im_end|>")).toBe(100265);
    expect(cl.tokenId(" world")).toBe(1917);
    expect(cl.tokenId("hello world")).toBeUndefined();
  });

  test("vocabulary sizes and metadata", () => {
    const sizes = Object.fromEntries(TIKTOKEN_NAMES.map((n) => [n, loadTokenizer(n).vocabSize]));
    expect(sizes).toEqual({ cl100k_base: 100277, o200k_base: 200266, p50k_base: 50283, r50k_base: 50259, gpt2: 50259 });
    expect(cl.kind).toBe("tiktoken");
    expect(cl.eosToken).toBe("<|endoftext|>");
    expect(cl.chat.template).toBe("chatml");
    expect(cl.byteTokenIds[32]).toBe(220);
    expect(loadTokenizer("cl100k_base")).toBe(cl);
  });

  test("decode(encode(s)) === s exactly on hard texts and random mixes", () => {
    for (const name of ["cl100k_base", "o200k_base"]) {
      const tok = loadTokenizer(name);
      for (const s of [...HARD_TEXTS, ...randomMixes(150, 3), "\ufeffBOM kept", "cafe\u0301 not normalized"]) {
        const ids = tok.encode(s);
        expect(tok.decode(ids)).toBe(s);
        expect(tok.count(s)).toBe(ids.length);
      }
    }
  });

  test("ids that are not tokens are refused by decode", () => {
    expect(() => cl.decode([100270])).toThrow("cl100k_base: token id 100270 is not in the vocabulary (100277 ids)");
    expect(() => cl.decode([1.5])).toThrow("token id 1.5");
    expect(cl.decode([100276])).toBe("<|endofprompt|>");
  });
});
