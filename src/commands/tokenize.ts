// `longrl tokenize`: token ids of a text or of a JSONL file of {"text": ...} lines; no BOS/EOS or chat
// template is added, special-token strings in the text become special tokens. Logic lives in src/tokenizer.
import type { Argv, CommandModule } from "yargs";
import { usageError } from "../util/errors.ts";
import { loadTokenizer } from "../tokenizer/index.ts";
import { formatTokenTable, readTextsJsonl } from "../tokenizer/inspect.ts";
import type { Writer } from "./verify.ts";

export interface TokenizeArgs {
  tokenizer: string;
  text?: string;
  input?: string;
  json: boolean;
}

/**
 * --json: `{"ids": [...]}` for --text, one such line per input line for --input (blank lines skipped).
 * Otherwise: for --text a table (position, id, piece); for --input `F:LINE: N tokens: id id ...` per line.
 */
export async function runTokenize(a: TokenizeArgs, out: Writer = process.stdout): Promise<void> {
  if ((a.text === undefined) === (a.input === undefined)) throw usageError("give exactly one of --text or --input");
  const tok = loadTokenizer(a.tokenizer);
  if (a.text !== undefined) {
    const ids = tok.encode(a.text);
    out.write(a.json ? `${JSON.stringify({ ids })}\n` : formatTokenTable(tok, ids));
    return;
  }
  const file = a.input!;
  const lines = readTextsJsonl(file);
  let chunk = "";
  for (const { line, text } of lines) {
    const ids = tok.encode(text);
    chunk += a.json ? `${JSON.stringify({ ids })}\n` : `${file}:${line}: ${ids.length} tokens: ${ids.join(" ")}\n`;
    if (chunk.length > 1 << 20) {
      out.write(chunk);
      chunk = "";
    }
  }
  out.write(chunk);
}

export const tokenizeCommand: CommandModule<{}, TokenizeArgs> = {
  command: "tokenize",
  describe: "token ids of a text or a JSONL file of {\"text\": ...} lines (no special tokens added)",
  builder: (y: Argv<{}>) =>
    y
      .option("tokenizer", { type: "string", demandOption: true, describe: "tiktoken encoding (cl100k_base, o200k_base, ...), a tokenizer.json, a longrl_vocab.json, or a directory with one" })
      .option("text", { type: "string", describe: "text to tokenize" })
      .option("input", { type: "string", describe: "JSONL file, one {\"text\": \"...\"} per line" })
      .option("json", { type: "boolean", default: false, describe: "print {\"ids\": [...]} (one line per input line)" })
      .conflicts("text", "input") as unknown as Argv<TokenizeArgs>,
  handler: async (args) => {
    await runTokenize(args);
  },
};
