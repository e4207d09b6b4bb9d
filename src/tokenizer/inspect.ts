// What `longrl tokenize` needs besides encode: reading `{"text": ...}` JSONL with errors that name file:line,
// and the human-readable listing of tokens (id and the text piece each stands for).
import { existsSync, readFileSync } from "node:fs";
import { usageError } from "../util/errors.ts";
import type { LoadedTokenizer } from "./index.ts";

export interface TextLine {
  /** 1-based line number in the file. */
  line: number;
  text: string;
}

/** Every non-blank line must be a JSON object with a string "text"; the first bad line is an error `F:LINE: ...`. */
export function readTextsJsonl(file: string): TextLine[] {
  if (!existsSync(file)) throw usageError(`--input ${file}: no such file`);
  const out: TextLine[] = [];
  const lines = readFileSync(file, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.endsWith("\r") ? lines[i]!.slice(0, -1) : lines[i]!;
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw usageError(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw usageError(`${file}:${i + 1}: expected an object {"text": "..."}`);
    const text = (value as { text?: unknown }).text;
    if (typeof text !== "string") throw usageError(`${file}:${i + 1}: "text" must be a string (got ${text === undefined ? "no text field" : typeof text})`);
    out.push({ line: i + 1, text });
  }
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The text a token stands for, as a JSON string; bytes that are not whole UTF-8 characters as \xNN. */
export function tokenPiece(tok: LoadedTokenizer, id: number): string {
  const bytes = tok.decodeBytes([id]);
  try {
    return JSON.stringify(strictUtf8.decode(bytes));
  } catch {
    return `"${Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`)).join("")}"`;
  }
}

/** One line per token: position, id and piece, under a `N tokens (name)` header. */
export function formatTokenTable(tok: LoadedTokenizer, ids: readonly number[]): string {
  const idWidth = Math.max(2, ...ids.map((id) => String(id).length));
  const posWidth = String(Math.max(0, ids.length - 1)).length;
  const rows = ids.map((id, i) => `${String(i).padStart(posWidth)}  ${String(id).padStart(idWidth)}  ${tokenPiece(tok, id)}`);
  return `${ids.length} token${ids.length === 1 ? "" : "s"} (${tok.name})\n${rows.map((r) => `${r}\n`).join("")}`;
}
