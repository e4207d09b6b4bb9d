// Generic validation of a config layer against the defaults' shape: the type of each default value decides
// what a key accepts, RULES adds integer-ness and ranges, lists of mappings are checked element by element
// against the first default element. Then the cross-field checks no single key can make.
// Every error is one line: the place (file:line or the --set), the dotted field, and the fix.
import { closest, usageError } from "../util/errors.ts";
import { freshConfig } from "../model/config.ts";
import { DEFAULT_RUN_CONFIG, rlPhases, type RunConfig } from "./schema.ts";
import { DERIVED, OPTIONAL, RULES, type FieldRule } from "./rules.ts";

export type Path = (string | number)[];
type Obj = Record<string, unknown>;

/** Where a layer's values come from: a file (with a line per field when known), a --set, or the defaults. */
export interface Source {
  name: string;
  /** Later layers have larger numbers: defaults -1, the file 0, the n-th --set n. */
  order: number;
  lineOf?: (path: Path) => number | undefined;
}

/** The source that last set each dotted path, for messages about values from earlier layers. */
export type Provenance = Map<string, Source>;

export const dotted = (path: Path): string => path.join(".");
/** "curriculum.phases.1.steps" as a path; digit segments are list indices. */
export const parsePath = (p: string): Path => p.split(".").map((s) => (/^\d+$/.test(s) ? Number(s) : s));
export const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function placeOf(src: Source, path: Path): string {
  const line = src.lineOf?.(path);
  return line === undefined ? src.name : `${src.name}:${line}`;
}

/** "curriculum.phases.*.steps" for "curriculum.phases.1.steps": list indices as `*`, the rules' keys. */
const pattern = (path: Path): string => path.map((s) => (typeof s === "number" ? "*" : s)).join(".");

/** A mapping's template: the default's keys plus the OPTIONAL keys of that place. */
function withOptional(tmpl: Obj, path: Path): Obj {
  const pre = `${pattern(path)}.`;
  const extra = Object.entries(OPTIONAL).filter(([p]) => p.startsWith(pre) && !p.slice(pre.length).includes("."));
  return extra.length === 0 ? tmpl : { ...tmpl, ...Object.fromEntries(extra.map(([p, x]) => [p.slice(pre.length), x])) };
}

/** The rule for a concrete path: list indices match `*`. */
function ruleOf(path: Path): FieldRule {
  return RULES[pattern(path)] ?? {};
}

const show = (v: unknown): string => (v === undefined ? "nothing" : typeof v === "number" ? String(v) : JSON.stringify(v));

function describe(tmpl: unknown, rule: FieldRule): string {
  if (rule.oneOf) return `one of ${rule.oneOf.join(", ")}`;
  if (typeof tmpl === "boolean") return "true or false";
  if (typeof tmpl === "number") return rule.int ? "an integer" : "a number";
  if (typeof tmpl === "string") return "a string (quote it if it looks like a number)";
  if (Array.isArray(tmpl)) return "a list, e.g. [a, b]";
  return "a mapping of keys";
}

function checkLeaf(tmpl: unknown, value: unknown, path: Path, src: Source): void {
  const rule = ruleOf(path);
  const field = `${placeOf(src, path)}: ${dotted(path)}`;
  const typeOk =
    typeof tmpl === "number"
      ? typeof value === "number" && Number.isFinite(value) && (!rule.int || Number.isInteger(value))
      : typeof value === typeof tmpl && (!rule.oneOf || rule.oneOf.includes(value as string));
  if (!typeOk) throw usageError(`${field} must be ${describe(tmpl, rule)}, got ${show(value)}`);
  if (typeof value !== "number") return;
  const bound =
    rule.min !== undefined && value < rule.min ? `>= ${rule.min}`
    : rule.max !== undefined && value > rule.max ? `<= ${rule.max}`
    : rule.gt !== undefined && value <= rule.gt ? `> ${rule.gt}`
    : rule.lt !== undefined && value >= rule.lt ? `< ${rule.lt}`
    : undefined;
  if (bound !== undefined) throw usageError(`${field} must be ${bound}, got ${value}`);
}

function allPaths(v: unknown, path: Path = []): string[] {
  if (!isObj(v)) return [dotted(path)];
  return Object.keys(v).flatMap((k) => [dotted([...path, k]), ...allPaths(v[k], [...path, k])]);
}
const ALL_PATHS = allPaths(DEFAULT_RUN_CONFIG).filter((p) => p !== "");

export function unknownKey(src: Source, parent: Path, key: string, keys: string[]): Error {
  const full = dotted([...parent, key]);
  const place = placeOf(src, [...parent, key]);
  if (DERIVED[full]) return usageError(`${place}: ${full} is set from ${DERIVED[full]}; set that instead`);
  const near = suggest(key, keys);
  const elsewhere = ALL_PATHS.find((p) => p.endsWith(`.${key}`) || p === key);
  const hint = near ? `did you mean ${dotted([...parent, near])}?` : elsewhere ? `did you mean ${elsewhere}?` : `${dotted(parent) || "the top level"} has ${keys.join(", ")}`;
  return usageError(`${place}: ${full} is not a key; ${hint}`);
}

/** closest() on the raw names, then with case, `_` and `-` ignored (clip_hi finds clipHigh). */
function suggest(key: string, keys: string[]): string | undefined {
  const norm = (k: string) => k.replace(/[_-]/g, "").toLowerCase();
  const hit = closest(key, keys) ?? closest(norm(key), keys.map(norm));
  return hit === undefined ? undefined : keys.find((k) => k === hit || norm(k) === hit);
}

/**
 * `value` (one layer's, from YAML or a --set) merged over `base` (the value so far), checked against `tmpl`
 * (the default). A mapping may name some keys; a list replaces the list; `base` undefined means a new list
 * element, which must name every key but the OPTIONAL ones.
 */
export function mergeValue(tmplIn: unknown, base: unknown, value: unknown, path: Path, src: Source, prov: Provenance): unknown {
  const tmpl = isObj(tmplIn) ? withOptional(tmplIn, path) : tmplIn;
  if (isObj(tmpl)) {
    if (value === null && base !== undefined) return base; // a section with only comments
    if (!isObj(value)) throw usageError(`${placeOf(src, path)}: ${dotted(path)} must be a mapping of keys, got ${show(value)}`);
    const keys = Object.keys(tmpl).filter((k) => !DERIVED[dotted([...path, k])]);
    for (const k of Object.keys(value)) if (!keys.includes(k)) throw unknownKey(src, path, k, keys);
    const out: Obj = {};
    for (const k of Object.keys(tmpl)) {
      const b = isObj(base) ? base[k] : undefined;
      if (Object.hasOwn(value, k)) out[k] = mergeValue(tmpl[k], b, value[k], [...path, k], src, prov);
      else if (b !== undefined) out[k] = b;
      else if (DERIVED[dotted([...path, k])]) out[k] = tmpl[k];
      else if (pattern([...path, k]) in OPTIONAL) continue; // left out: it stays out
      else {
        const needed = keys.filter((n) => !(pattern([...path, n]) in OPTIONAL));
        throw usageError(`${placeOf(src, path)}: ${dotted(path)} has no ${k}; each element needs ${needed.join(", ")}`);
      }
    }
    return out;
  }
  if (Array.isArray(tmpl)) {
    if (!Array.isArray(value)) throw usageError(`${placeOf(src, path)}: ${dotted(path)} must be a list, e.g. [a, b], got ${show(value)}`);
    for (const p of [...prov.keys()]) if (p.startsWith(`${dotted(path)}.`)) prov.delete(p);
    prov.set(dotted(path), src);
    return value.map((v, i) => mergeValue(tmpl[0], undefined, v, [...path, i], src, prov));
  }
  checkLeaf(tmpl, value, path, src);
  prov.set(dotted(path), src);
  return value;
}

/** Sets one dotted path (`curriculum.phases.1.steps`); an index equal to the list's length appends. */
export function setIn(tmpl: unknown, cur: unknown, segs: string[], value: unknown, path: Path, src: Source, prov: Provenance): unknown {
  if (segs.length === 0) return mergeValue(tmpl, cur, value, path, src, prov);
  const [head, ...rest] = segs as [string, ...string[]];
  const here = `${src.name}: ${dotted(path)}`;
  if (Array.isArray(tmpl)) {
    const list = cur as unknown[];
    if (!/^\d+$/.test(head)) throw usageError(`${here} is a list; index it by number, e.g. ${dotted([...path, 0])}`);
    const i = Number(head);
    if (i > list.length) throw usageError(`${here} has ${list.length} elements; index ${i} is out of range (${list.length} appends)`);
    if (i === list.length && rest.length > 0) {
      throw usageError(`${here}.${i} does not exist; append a whole element: ${dotted([...path, i])}={...}`);
    }
    const out = [...list];
    out[i] = setIn(tmpl[0], list[i], rest, value, [...path, i], src, prov);
    return out;
  }
  if (isObj(tmpl)) {
    const t = withOptional(tmpl, path);
    const keys = Object.keys(t).filter((k) => !DERIVED[dotted([...path, k])]);
    if (!keys.includes(head)) throw unknownKey(src, path, head, keys);
    return { ...(cur as Obj), [head]: setIn(t[head], (cur as Obj)[head], rest, value, [...path, head], src, prov) };
  }
  throw usageError(`${here} is ${describe(tmpl, ruleOf(path))}, not a section; use --set ${dotted(path)}=VALUE`);
}

/** Fills derived keys and runs the checks that involve more than one key. */
export function resolveRunConfig(cfg: RunConfig, prov: Provenance, fallback: Source): RunConfig {
  const out = structuredClone(cfg);
  out.reward.overlong.maxResponseTokens = out.rl.maxResponseTokens;
  crossCheck(out, (paths: string[]) => {
    // The newest layer that set one of these fields (or a section holding one) is the place to fix.
    let best: [string, Source] | undefined;
    for (const [q, src] of prov) {
      const related = paths.some((p) => q === p || p.startsWith(`${q}.`) || q.startsWith(`${p}.`));
      if (related && (best === undefined || src.order > best[1].order)) best = [q, src];
    }
    if (!best) return fallback.name;
    const exact = paths.find((p) => p === best[0] || p.startsWith(`${best[0]}.`));
    return placeOf(best[1], parsePath(exact ?? best[0]));
  });
  return out;
}

/** `at` names the place (file:line or --set) that last set any of the given fields. */
function crossCheck(c: RunConfig, at: (paths: string[]) => string): void {
  const fail = (path: string, msg: string, ...others: string[]) => {
    throw usageError(`${at([path, ...others])}: ${path} ${msg}`);
  };
  const fresh = c.model.path === "";
  if (fresh) freshConfig({ ...c.model.fresh, vocabSize: c.model.fresh.vocabSize || 1 }, `${at(["model.fresh"])}: model.fresh`);
  if (!fresh && c.tokenizer.compactVocab) fail("tokenizer.compactVocab", "must be false with model.path set: a pretrained embedding keeps its token ids (set tokenizer.compactVocab=false, and tokenizer.name= to use the model directory's own tokenizer; --model DIR sets all three)", "model.path");
  if (fresh && c.tokenizer.name === "") fail("tokenizer.name", `is "" (the model directory's) but model.path is "" (a fresh model); name an encoding such as cl100k_base`, "model.path");

  for (const key of ["synth", "evalSynth", "sftSynth"] as const) {
    const s = c.data[key];
    if (s.maxTokens < s.minTokens) fail(`data.${key}.maxTokens`, `${s.maxTokens} < data.${key}.minTokens ${s.minTokens}; raise it`, `data.${key}.minTokens`);
    if (s.kinds.length === 0) fail(`data.${key}.kinds`, "is empty; list some of lookup, multihop, docmath, choice");
  }

  for (const key of ["pretrain", "sft"] as const) {
    const o = c[key];
    if (o.batchSize % o.microBatchSize !== 0) fail(`${key}.microBatchSize`, `${o.microBatchSize} does not divide ${key}.batchSize ${o.batchSize}`, `${key}.batchSize`);
  }
  if (c.pretrain.maxItems < c.pretrain.minItems) fail("pretrain.maxItems", `${c.pretrain.maxItems} < pretrain.minItems ${c.pretrain.minItems}; raise it`, "pretrain.minItems");
  const rc = c.pretrain.recite;
  if (rc.maxTokens < rc.minTokens) fail("pretrain.recite.maxTokens", `${rc.maxTokens} < pretrain.recite.minTokens ${rc.minTokens}; raise it`, "pretrain.recite.minTokens");
  if (fresh && rc.records > 0 && rc.maxTokens >= c.model.fresh.maxPositions) {
    fail("pretrain.recite.maxTokens", `${rc.maxTokens} >= model.fresh.maxPositions ${c.model.fresh.maxPositions} leaves no room for the quoted lines; lower it`, "model.fresh.maxPositions");
  }
  if (c.sft.maxTokens <= c.data.sftMaxPromptTokens) {
    fail("sft.maxTokens", `${c.sft.maxTokens} <= data.sftMaxPromptTokens ${c.data.sftMaxPromptTokens} leaves no room for a response; raise it`, "data.sftMaxPromptTokens");
  }
  const sftSynth = c.data.sftTrain === "" && c.data.sftSynth.n > 0 ? "sftSynth" : c.data.sftTrain === "" && c.data.train === "" ? "synth" : null;
  if (c.sft.enable && sftSynth && c.data.sftMaxPromptTokens < c.data[sftSynth].minTokens) {
    fail("data.sftMaxPromptTokens", `${c.data.sftMaxPromptTokens} < data.${sftSynth}.minTokens ${c.data[sftSynth].minTokens}: no synthetic record is short enough for SFT`, `data.${sftSynth}.minTokens`);
  }
  if (fresh && c.sft.maxTokens > c.model.fresh.maxPositions) {
    fail("sft.maxTokens", `${c.sft.maxTokens} > model.fresh.maxPositions ${c.model.fresh.maxPositions}; lower it`, "model.fresh.maxPositions");
  }

  const rl = c.rl;
  if (rl.batchSize % rl.miniBatchSize !== 0) fail("rl.miniBatchSize", `${rl.miniBatchSize} does not divide rl.batchSize ${rl.batchSize}`, "rl.batchSize");
  if ((rl.miniBatchSize * rl.groupSize) % rl.microBatchSize !== 0) {
    fail("rl.microBatchSize", `${rl.microBatchSize} does not divide the ${rl.miniBatchSize * rl.groupSize} sequences of a mini-batch (rl.miniBatchSize x rl.groupSize)`, "rl.miniBatchSize", "rl.groupSize");
  }
  const buffer = c.reward.overlong.bufferTokens;
  if (c.reward.overlong.enable && buffer > rl.maxResponseTokens) {
    fail("reward.overlong.bufferTokens", `${buffer} > rl.maxResponseTokens ${rl.maxResponseTokens}; lower it`, "rl.maxResponseTokens");
  }
  const judge = c.reward.judge;
  if (judge.backend !== "none" && judge.model === "") fail("reward.judge.model", judge.backend === "local" ? "is empty; give the judge model's directory (a Hugging Face Qwen2-family model or a longrl checkpoint) for backend local" : `is empty; name the judge model for backend ${judge.backend}`, "reward.judge.backend");

  const phases = c.curriculum.phases;
  if (phases.length === 0) fail("curriculum.phases", "is empty; give at least one {maxPromptTokens, steps}");
  phases.forEach((p, i) => {
    if (i > 0 && p.maxPromptTokens <= phases[i - 1]!.maxPromptTokens) {
      fail(`curriculum.phases.${i}.maxPromptTokens`, `${p.maxPromptTokens} must be > curriculum.phases.${i - 1}.maxPromptTokens ${phases[i - 1]!.maxPromptTokens} (phases grow)`, `curriculum.phases.${i - 1}`);
    }
  });
  const last = phases.length - 1;
  const longest = phases[last]!.maxPromptTokens;
  if (fresh && longest + rl.maxResponseTokens > c.model.fresh.maxPositions) {
    fail(
      `curriculum.phases.${last}.maxPromptTokens`,
      `${longest} + rl.maxResponseTokens ${rl.maxResponseTokens} > model.fresh.maxPositions ${c.model.fresh.maxPositions}; lower them or raise maxPositions`,
      "rl.maxResponseTokens",
      "model.fresh.maxPositions",
    );
  }
  if (rl.enable && c.data.train === "") {
    const { minTokens, maxTokens } = c.data.synth;
    let prev = 0;
    rlPhases(c).forEach((p, i) => {
      if (p.maxPromptTokens < minTokens || prev >= maxTokens) {
        const where = c.curriculum.enable ? `curriculum.phases.${i}` : "curriculum.phases";
        fail(where, `takes prompts of (${prev}, ${p.maxPromptTokens}] tokens but data.synth makes ${minTokens}..${maxTokens}; change data.synth.minTokens/maxTokens or the phase`, "data.synth");
      }
      prev = p.maxPromptTokens;
    });
  }

  const ks = c.eval.kValues;
  if (ks.length === 0) fail("eval.kValues", "is empty; use [1] for pass@1");
  ks.forEach((k, i) => {
    if (i > 0 && k <= ks[i - 1]!) fail(`eval.kValues.${i}`, `${k} must be > ${ks[i - 1]} (strictly increasing)`);
  });
  if (ks[ks.length - 1]! > c.eval.samplesPerItem) {
    fail("eval.samplesPerItem", `${c.eval.samplesPerItem} < the largest eval.kValues ${ks[ks.length - 1]}; pass@k needs k samples`, "eval.kValues");
  }
  c.eval.lengthBuckets.forEach((b, i, bs) => {
    if (i > 0 && b <= bs[i - 1]!) fail(`eval.lengthBuckets.${i}`, `${b} must be > ${bs[i - 1]} (strictly increasing)`);
  });
}
