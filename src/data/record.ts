// DocQA record: the longrl JSONL layout and QwenLong-L1's verl layout, checked field by field.
// Every check names the field and the fix; a ground truth its verifier cannot parse is rejected here, by id.
import { closest } from "../util/errors.ts";
import { groundTruthHint, isCategory, parseGroundTruth, routeCategory, type Category } from "../reward/verify.ts";

export interface DocRecord {
  id: string;
  /** Benchmark or generator name (musique, docmath_qa, synth_lookup, ...). */
  dataSource: string;
  /** The record's category when given, else routed from dataSource (design.md §5). */
  category: Category;
  /** The document; "" for a verl record whose prompt does not follow the template. */
  context: string;
  question: string;
  /** Ground truth: the bare answer or the full marker sentence. */
  answer: string;
  /** Gold reasoning for SFT, citing the passages used. */
  reasoning?: string;
  /** A filled prompt, used verbatim instead of the template (verl records always have one). */
  prompt?: string;
  /** Choice records: the four options (A-D), rendered by the template; otherwise the question holds them. */
  choices?: string[];
  /** Free-form data about the record (generator kind, hops, ...); carried, never interpreted. */
  meta?: Record<string, unknown>;
  /** Prompt length in tokens of `promptTokenizer`, filled once by measurePrompts (data/prompt.ts). */
  promptTokens?: number;
  promptTokenizer?: string;
}

/** Fields of the longrl layout, in the order they are written. */
export const RECORD_FIELDS = [
  "id", "data_source", "category", "context", "question", "choices", "answer", "reasoning", "prompt", "meta",
] as const;

/** A validation failure: `field` is the JSON path, `message` says what is wrong and how to fix it. */
export class RecordError extends Error {
  constructor(readonly field: string, message: string) {
    super(`field ${field}: ${message}`);
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parse one decoded JSON line in either layout; throws RecordError. `fallbackId` names records without one. */
export function parseRecord(value: unknown, fallbackId: string): DocRecord {
  if (!isObject(value)) throw new RecordError("(line)", "a record is one JSON object per line");
  const isVerl = Array.isArray(value.prompt) || "reward_model" in value;
  return isVerl ? parseVerl(value, fallbackId) : parseLongrl(value);
}

function parseLongrl(v: Json): DocRecord {
  for (const key of Object.keys(v)) {
    if (!(RECORD_FIELDS as readonly string[]).includes(key)) {
      const hint = closest(key, RECORD_FIELDS);
      throw new RecordError(key, `not a record field${hint ? `; did you mean '${hint}'?` : ""} (fields: ${RECORD_FIELDS.join(", ")})`);
    }
  }
  const id = idOf(v.id, "id");
  const dataSource = requiredString(v, "data_source");
  if (v.category !== undefined && !isCategory(v.category)) {
    throw new RecordError("category", `${JSON.stringify(v.category)} is not one of qa, math, choice`);
  }
  const category = routeCategory(dataSource, v.category as Category | undefined);
  const prompt = optionalString(v, "prompt");
  const rec: DocRecord = {
    id,
    dataSource,
    category,
    context: prompt === undefined ? requiredString(v, "context") : (optionalString(v, "context") ?? ""),
    question: prompt === undefined ? requiredString(v, "question") : (optionalString(v, "question") ?? ""),
    answer: answerString(v.answer, "answer"),
  };
  const reasoning = optionalString(v, "reasoning");
  if (reasoning !== undefined) rec.reasoning = reasoning;
  if (prompt !== undefined) rec.prompt = prompt;
  if (v.choices !== undefined) rec.choices = parseChoices(v.choices, category);
  if (v.meta !== undefined) {
    if (!isObject(v.meta)) throw new RecordError("meta", "must be a JSON object");
    rec.meta = v.meta;
  }
  checkGroundTruth(rec, "answer");
  return rec;
}

function parseVerl(v: Json, fallbackId: string): DocRecord {
  const dataSource = requiredString(v, "data_source");
  if (!Array.isArray(v.prompt) || v.prompt.length === 0) {
    throw new RecordError("prompt", "a verl record's prompt is a non-empty list of {role, content} messages");
  }
  let prompt: string | undefined;
  v.prompt.forEach((m: unknown, i: number) => {
    if (!isObject(m) || typeof m.content !== "string") {
      throw new RecordError(`prompt[${i}]`, "each message needs a string content");
    }
    if (m.role !== "user") {
      throw new RecordError(`prompt[${i}].role`, `${JSON.stringify(m.role)} is not supported; longrl builds one user turn`);
    }
    prompt = m.content;
  });
  if (!isObject(v.reward_model)) throw new RecordError("reward_model", "must be an object with a ground_truth");
  const extra = v.extra_info === undefined ? {} : v.extra_info;
  if (!isObject(extra)) throw new RecordError("extra_info", "must be a JSON object when present");
  const id = extra.id ?? extra.index;
  const rec: DocRecord = {
    id: id === undefined ? fallbackId : idOf(id, "extra_info.index"),
    dataSource,
    category: routeCategory(dataSource),
    context: between(prompt!, "<text>", "</text>") ?? "",
    question: questionOf(prompt!),
    answer: answerString(v.reward_model.ground_truth, "reward_model.ground_truth"),
    prompt: prompt!,
  };
  if (Object.keys(extra).length > 0) rec.meta = { extra_info: extra };
  checkGroundTruth(rec, "reward_model.ground_truth");
  return rec;
}

function checkGroundTruth(rec: DocRecord, field: string): void {
  if (parseGroundTruth(rec.category, rec.answer) === null) {
    throw new RecordError(
      field,
      `record '${rec.id}' (${rec.category}): ground truth ${JSON.stringify(rec.answer.slice(0, 60))} cannot be parsed; ${groundTruthHint(rec.category)}`,
    );
  }
}

function parseChoices(v: unknown, category: Category): string[] {
  if (category !== "choice") throw new RecordError("choices", `only choice records have choices (this one is ${category})`);
  if (!Array.isArray(v) || v.length !== 4 || !v.every((c) => typeof c === "string" && c.trim() !== "")) {
    throw new RecordError("choices", "must be a list of four non-empty strings, options A-D");
  }
  return v as string[];
}

function idOf(v: unknown, field: string): string {
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v === "string" && v.trim() !== "") return v;
  throw new RecordError(field, v === undefined ? "missing; every record needs an id" : "must be a non-empty string or a number");
}

function answerString(v: unknown, field: string): string {
  if (typeof v === "number" && Number.isFinite(v)) return String(v); // DocMath ground truths are often numbers
  if (typeof v === "string" && v.trim() !== "") return v;
  throw new RecordError(field, v === undefined ? "missing" : "must be a non-empty string (or a number)");
}

function requiredString(v: Json, field: string): string {
  const s = v[field];
  if (s === undefined) throw new RecordError(field, "missing");
  if (typeof s !== "string" || s.trim() === "") throw new RecordError(field, "must be a non-empty string");
  return s;
}

function optionalString(v: Json, field: string): string | undefined {
  const s = v[field];
  if (s === undefined || s === null) return undefined;
  if (typeof s !== "string") throw new RecordError(field, "must be a string when present");
  return s;
}

function between(s: string, open: string, close: string): string | null {
  const a = s.indexOf(open);
  const b = s.lastIndexOf(close);
  return a >= 0 && b > a ? s.slice(a + open.length, b).trim() : null;
}

/** The question of a filled QwenLong-L1 prompt: between `</text>` and the format line (the whole prompt otherwise). */
function questionOf(prompt: string): string {
  const at = prompt.lastIndexOf("</text>");
  const rest = at < 0 ? prompt : prompt.slice(at + "</text>".length);
  const end = rest.indexOf("Format your response as follows:");
  return (end < 0 ? rest : rest.slice(0, end)).trim();
}

/** The longrl JSON object of a record, keys in RECORD_FIELDS order (so files are byte-stable). */
export function recordToJson(r: DocRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { id: r.id, data_source: r.dataSource, category: r.category };
  out.context = r.context;
  out.question = r.question;
  if (r.choices) out.choices = r.choices;
  out.answer = r.answer;
  if (r.reasoning !== undefined) out.reasoning = r.reasoning;
  if (r.prompt !== undefined) out.prompt = r.prompt;
  if (r.meta !== undefined) out.meta = r.meta;
  return out;
}
