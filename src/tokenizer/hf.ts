// Hugging Face tokenizer.json (byte-level BPE: Qwen2/2.5/3, DeepSeek-R1-Distill-Qwen, Llama-3, GPT-2) converted
// to tiktoken's rank format: vocabulary strings → raw bytes, ids as ranks, the Split pattern, added tokens.
// Everything else (WordPiece, Unigram, SentencePiece-style Metaspace, normalizers other than NFC) is refused by field.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Tiktoken } from "tiktoken";
import { usageError } from "../util/errors.ts";
import { createBpeTokenizer, type AddedToken } from "./bpe.ts";
import { byteLevelToBytes } from "./bytelevel.ts";
import { detectChatFormat } from "./chat.ts";
import type { LoadedTokenizer } from "./index.ts";
import { tiktoken } from "./wasm.ts";
import { checkMergeOrder, findMergeMismatches, VERIFIED_VOCABULARIES, vocabularyFingerprint, type Merge } from "./merges.ts";

/** HF ByteLevel's own split (use_regex: true), the GPT-2 pattern. */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

type Json = Record<string, unknown>;

/** Reads `path` (a tokenizer.json, or a directory with one) and its tokenizer_config.json / chat_template.jinja. */
export function loadHfTokenizer(path: string): LoadedTokenizer {
  const file = tokenizerJsonPath(path);
  const dir = dirname(file);
  const json = readJson(file);
  const configFile = join(dir, "tokenizer_config.json");
  const config = existsSync(configFile) ? readJson(configFile) : undefined;
  const jinja = join(dir, "chat_template.jinja");
  const chatTemplate = existsSync(jinja) ? readFileSync(jinja, "utf8") : undefined;
  return hfTokenizerFromJson(json, config, { file, chatTemplate });
}

/** The tokenizer.json that `path` names (itself, or the one in the directory), resolved. */
export function tokenizerJsonPath(path: string): string {
  const file = statSync(path).isDirectory() ? join(path, "tokenizer.json") : path;
  if (!existsSync(file)) throw usageError(`${path}: no tokenizer.json in this directory`);
  return resolve(file);
}

function readJson(file: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw usageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw usageError(`${file}: expected a JSON object`);
  return value as Json;
}

/** Builds the tokenizer from parsed tokenizer.json (and tokenizer_config.json) objects; `file` names them in errors. */
export function hfTokenizerFromJson(json: Json, config: Json | undefined, where: { file: string; chatTemplate?: string }): LoadedTokenizer {
  const fail = (field: string, problem: string) => usageError(`${where.file}: ${field} ${problem}`);
  const { vocab, merges } = readModel(json.model, fail);
  const nfc = readNormalizer(json.normalizer, fail);
  const pattern = readPreTokenizer(json.pre_tokenizer, fail);
  readDecoder(json.decoder, fail);
  const added = readAddedTokens(json.added_tokens, vocab, fail);

  // Ranks: one "base64(bytes) id" line per vocabulary entry.
  let nRanks = 0;
  for (const id of vocab.values()) nRanks = Math.max(nRanks, id + 1);
  const rankBytes = new Uint16Array(nRanks);
  const present = new Uint8Array(nRanks);
  const lines: string[] = [];
  const singleBytes = new Set<number>();
  for (const [token, id] of vocab) {
    const bytes = byteLevelToBytes(token);
    if (!bytes || bytes.length === 0) throw fail("model.vocab", `entry ${JSON.stringify(token)} (id ${id}) is not a byte-level token; only byte-level BPE is supported`);
    if (present[id]) throw fail("model.vocab", `has id ${id} twice`);
    present[id] = 1;
    rankBytes[id] = bytes.length;
    if (bytes.length === 1) singleBytes.add(bytes[0]!);
    lines.push(`${Buffer.from(bytes).toString("base64")} ${id}`);
  }
  if (singleBytes.size !== 256) throw fail("model.vocab", `has ${singleBytes.size} of the 256 single-byte tokens; byte-level BPE needs all of them`);

  const order = checkMergeOrder(vocab, merges);
  if (order.problem) throw fail("model.merges", `disagree with the vocabulary's id order (${order.problem}); tiktoken's rank-ordered BPE would tokenize differently`);
  if (VERIFIED_VOCABULARIES[vocabularyFingerprint(vocab, merges)] === undefined) {
    const problems = findMergeMismatches(vocab, order.mergesOf);
    if (problems.length > 0) throw fail("model.merges", `disagree with rank-ordered BPE: ${problems.join("; ")}`);
  }

  const specials: Record<string, number> = {};
  for (const [i, a] of added.entries()) {
    if (vocab.get(a.content) === a.id) continue; // an ordinary token that is also split out first
    if (present[a.id]) throw fail(`added_tokens[${i}].id`, `${a.id} is already model.vocab's token for other text`);
    specials[a.content] = a.id;
  }
  let enc: Tiktoken;
  try {
    enc = new (tiktoken().Tiktoken)(lines.join("\n"), specials, pattern);
  } catch (e) {
    throw fail("pre_tokenizer", `pattern ${JSON.stringify(pattern)} is not accepted by tiktoken's regex engine (${String(e)})`);
  }
  const allPresent = present.every((p) => p === 1);
  const meta = readConfig(config, json.post_processor, where.chatTemplate);
  return createBpeTokenizer({
    name: where.file,
    kind: "hf",
    source: where.file,
    ...meta,
    enc,
    nRanks,
    hasRank: allPresent ? undefined : (id) => present[id] === 1,
    added,
    nfc,
    rankBytes,
  });
}

type Fail = (field: string, problem: string) => Error;

function readModel(model: unknown, fail: Fail): { vocab: Map<string, number>; merges: Merge[] } {
  if (typeof model !== "object" || model === null) throw fail("model", "is missing");
  const m = model as Json;
  const type = m.type ?? (m.merges !== undefined ? "BPE" : undefined);
  if (type !== "BPE") throw fail("model.type", `'${String(type)}' is not supported (longrl reads byte-level BPE tokenizers)`);
  if (m.dropout !== undefined && m.dropout !== null && m.dropout !== 0) throw fail("model.dropout", `${String(m.dropout)} is not supported (BPE dropout is for training)`);
  if (m.byte_fallback === true) throw fail("model.byte_fallback", "true is not supported (SentencePiece-style BPE, not byte-level)");
  for (const k of ["continuing_subword_prefix", "end_of_word_suffix"]) {
    if (typeof m[k] === "string" && m[k] !== "") throw fail(`model.${k}`, `'${String(m[k])}' is not supported`);
  }
  if (typeof m.vocab !== "object" || m.vocab === null || Array.isArray(m.vocab)) throw fail("model.vocab", "must be an object of token → id");
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(m.vocab as Json)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw fail("model.vocab", `entry ${JSON.stringify(token)} has id ${String(id)}; ids are integers >= 0`);
    vocab.set(token, id as number);
  }
  if (!Array.isArray(m.merges)) throw fail("model.merges", "must be a list");
  const merges: Merge[] = m.merges.map((x: unknown, i: number) => {
    const pair = typeof x === "string" ? x.split(" ") : x;
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      throw fail(`model.merges[${i}]`, `${JSON.stringify(x)} is not a pair of tokens`);
    }
    return [pair[0], pair[1]] as const;
  });
  return { vocab, merges };
}

function readNormalizer(n: unknown, fail: Fail): boolean {
  if (n === null || n === undefined) return false;
  const list = (n as Json).type === "Sequence" ? ((n as Json).normalizers as Json[]) : [n as Json];
  if (!Array.isArray(list)) throw fail("normalizer.normalizers", "must be a list");
  for (const [i, x] of list.entries()) {
    if (x?.type !== "NFC") {
      const field = list.length === 1 && (n as Json).type !== "Sequence" ? "normalizer.type" : `normalizer.normalizers[${i}].type`;
      throw fail(field, `'${String(x?.type)}' is not supported (only NFC)`);
    }
  }
  return list.length > 0;
}

function readPreTokenizer(p: unknown, fail: Fail): string {
  if (p === null || p === undefined) throw fail("pre_tokenizer", "is missing; byte-level BPE needs a ByteLevel pre-tokenizer");
  const pre = p as Json;
  const list: Json[] = pre.type === "Sequence" ? (pre.pretokenizers as Json[]) : [pre];
  if (!Array.isArray(list)) throw fail("pre_tokenizer.pretokenizers", "must be a list");
  const field = (i: number) => (pre.type === "Sequence" ? `pre_tokenizer.pretokenizers[${i}]` : "pre_tokenizer");
  const last = list.length - 1;
  const byteLevel = list[last];
  if (byteLevel?.type !== "ByteLevel") throw fail(`${field(last)}.type`, `'${String(byteLevel?.type)}' is not supported; expected a ByteLevel pre-tokenizer (last in the sequence)`);
  if (byteLevel.add_prefix_space === true) throw fail(`${field(last)}.add_prefix_space`, "true is not supported");
  const useRegex = byteLevel.use_regex !== false;
  if (list.length === 1) {
    if (!useRegex) throw fail(`${field(last)}.use_regex`, "false without a Split before it leaves nothing to split the text");
    return GPT2_PATTERN;
  }
  if (list.length !== 2) throw fail("pre_tokenizer.pretokenizers", `has ${list.length} steps; supported: [Split, ByteLevel] or [ByteLevel]`);
  if (useRegex) throw fail(`${field(last)}.use_regex`, "true after a Split (two regex passes) is not supported");
  const split = list[0]!;
  if (split.type !== "Split") throw fail(`${field(0)}.type`, `'${String(split.type)}' is not supported (expected Split)`);
  if (split.behavior !== "Isolated") throw fail(`${field(0)}.behavior`, `'${String(split.behavior)}' is not supported (expected Isolated)`);
  if (split.invert === true) throw fail(`${field(0)}.invert`, "true is not supported");
  const regex = (split.pattern as Json | undefined)?.Regex;
  if (typeof regex !== "string") throw fail(`${field(0)}.pattern`, "must be {\"Regex\": \"...\"}");
  // Checked here first: tiktoken's WASM aborts on a pattern it cannot compile, and each abort leaks its stack.
  try {
    new RegExp(regex, "u");
  } catch (e) {
    throw fail(`${field(0)}.pattern.Regex`, `${JSON.stringify(regex)} is not a pattern longrl can use (${(e as Error).message})`);
  }
  return regex;
}

function readDecoder(d: unknown, fail: Fail): void {
  const list: Json[] = (d as Json | null)?.type === "Sequence" ? ((d as Json).decoders as Json[]) : [d as Json];
  if (!Array.isArray(list) || list.length !== 1 || list[0]?.type !== "ByteLevel") {
    throw fail("decoder", `${JSON.stringify(d)?.slice(0, 80)} is not supported (expected ByteLevel)`);
  }
}

function readAddedTokens(list: unknown, vocab: ReadonlyMap<string, number>, fail: Fail): AddedToken[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw fail("added_tokens", "must be a list");
  const seen = new Map<number, string>();
  return list.map((x: Json, i: number) => {
    const f = `added_tokens[${i}]`;
    if (typeof x?.content !== "string" || x.content === "") throw fail(`${f}.content`, "must be a non-empty string");
    if (!Number.isInteger(x.id) || (x.id as number) < 0) throw fail(`${f}.id`, `${String(x.id)} is not an integer >= 0`);
    const id = x.id as number;
    if (x.single_word === true) throw fail(`${f}.single_word`, "true is not supported");
    if (x.content.normalize("NFC") !== x.content) throw fail(`${f}.content`, "is not in NFC form; not supported");
    const inVocab = vocab.get(x.content);
    if (inVocab !== undefined && inVocab !== id) throw fail(`${f}.id`, `${id} differs from model.vocab's ${inVocab} for ${JSON.stringify(x.content)}`);
    const other = seen.get(id);
    if (other !== undefined && other !== x.content) throw fail(`${f}.id`, `${id} is also ${JSON.stringify(other)}`);
    seen.set(id, x.content);
    return { content: x.content, id, lstrip: x.lstrip === true, rstrip: x.rstrip === true };
  });
}

/** BOS/EOS/PAD, whether BOS is prepended, and the chat format, from tokenizer_config.json and the post-processor. */
function readConfig(config: Json | undefined, postProcessor: unknown, jinja: string | undefined) {
  const token = (v: unknown): string | undefined =>
    typeof v === "string" ? v : typeof (v as Json | null)?.content === "string" ? ((v as Json).content as string) : undefined;
  const ppBos = templateBos(postProcessor);
  const bosToken = token(config?.bos_token) ?? ppBos;
  const addBos = typeof config?.add_bos_token === "boolean" ? config.add_bos_token : ppBos !== undefined;
  let template = jinja;
  const ct = config?.chat_template;
  if (template === undefined && typeof ct === "string") template = ct;
  if (template === undefined && Array.isArray(ct)) template = (ct.find((t: Json) => t?.name === "default") as Json | undefined)?.template as string | undefined;
  return {
    bosToken,
    eosToken: token(config?.eos_token),
    padToken: token(config?.pad_token),
    addBos: addBos && bosToken !== undefined,
    chat: detectChatFormat(template, bosToken),
  };
}

// The special token a TemplateProcessing post-processor puts first in a single sequence (Llama-3's BOS).
function templateBos(pp: unknown): string | undefined {
  const p = pp as Json | null | undefined;
  if (!p) return undefined;
  if (p.type === "Sequence" && Array.isArray(p.processors)) {
    for (const q of p.processors) {
      const b = templateBos(q);
      if (b !== undefined) return b;
    }
    return undefined;
  }
  if (p.type !== "TemplateProcessing" || !Array.isArray(p.single)) return undefined;
  const first = (p.single[0] as Json | undefined)?.SpecialToken as Json | undefined;
  return typeof first?.id === "string" ? first.id : undefined;
}
