// JSONL record files: load with validation (FILE:LINE: field X: ...), optional skipping, and writing.
// Parquet is not read: no well-kept pure-JS reader is worth the dependency yet; convert with pandas/pyarrow to JSONL.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { usageError } from "../util/errors.ts";
import { parseRecord, RecordError, recordToJson, type DocRecord } from "./record.ts";

export interface LoadOptions {
  /** Skip bad records (counted, first errors kept) instead of failing on the first one. */
  skipInvalid: boolean;
}

export interface LoadResult {
  records: DocRecord[];
  /** Records skipped under skipInvalid. */
  skipped: number;
  /** The first few skip reasons, `FILE:LINE: field X: ...`. */
  errors: string[];
}

const KEEP_ERRORS = 20; // enough to see a pattern, short enough for a terminal

/** Read the non-empty lines of a text file as [lineNumber, text]; a missing file is a usage error. */
export function readJsonlLines(path: string): Array<[number, string]> {
  if (!existsSync(path)) throw usageError(`${path}: no such file`);
  if (path.endsWith(".parquet")) {
    throw usageError(`${path}: parquet is not read yet; convert it to JSONL (pandas: df.to_json(path, orient="records", lines=True))`);
  }
  const lines = readFileSync(path, "utf8").split("\n");
  const out: Array<[number, string]> = [];
  lines.forEach((line, i) => {
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (text.trim() !== "") out.push([i + 1, text]);
  });
  return out;
}

/** Decode one JSONL line; a JSON syntax error becomes `FILE:LINE: not valid JSON (...)`. */
export function parseJsonLine(path: string, line: number, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usageError(`${path}:${line}: not valid JSON (${(err as Error).message})`);
  }
}

export function loadRecords(path: string, opts: LoadOptions = { skipInvalid: false }): LoadResult {
  const records: DocRecord[] = [];
  const errors: string[] = [];
  let skipped = 0;
  const seen = new Map<string, number>();
  for (const [line, text] of readJsonlLines(path)) {
    try {
      const rec = parseRecord(parseJsonLine(path, line, text), `${path}:${line}`);
      const first = seen.get(rec.id);
      if (first !== undefined) throw new RecordError("id", `'${rec.id}' is already used on line ${first}; ids must be unique`);
      seen.set(rec.id, line);
      records.push(rec);
    } catch (err) {
      const msg = err instanceof RecordError ? `${path}:${line}: ${err.message}` : (err as Error).message;
      if (!opts.skipInvalid) throw usageError(`${msg} (--skip-invalid skips bad records)`);
      skipped++;
      if (errors.length < KEEP_ERRORS) errors.push(msg);
    }
  }
  if (records.length === 0) {
    throw usageError(`${path}: no valid records${skipped > 0 ? ` (${skipped} skipped; first: ${errors[0]})` : ""}`);
  }
  return { records, skipped, errors };
}

/** One JSON line per record in the longrl layout; the same records always give the same bytes. */
export function formatRecords(records: readonly DocRecord[]): string {
  return records.map((r) => `${JSON.stringify(recordToJson(r))}\n`).join("");
}

export function writeRecords(path: string, records: readonly DocRecord[]): void {
  try {
    writeFileSync(path, formatRecords(records));
  } catch (err) {
    throw usageError(`${path}: cannot write (${(err as Error).message}); check the directory exists and is writable`);
  }
}
