// Synthetic long-document QA: numbered passages of true facts about an invented world, a question whose
// evidence passages are spread far apart, distractors that look like the answer, and a gold reasoning.
// Deterministic by (seed, record index); prompt length lands in [minTokens, maxTokens] of the chosen tokenizer.
import { usageError } from "../util/errors.ts";
import type { Tokenizer } from "../tokenizer/index.ts";
import { buildPrompt } from "./prompt.ts";
import type { DocRecord } from "./record.ts";
import { createRng, type Rng } from "../util/rng.ts";
import { makeQuestion, REASONING_STYLES, type ReasoningStyle, SYNTH_KINDS, type SynthKind, type SynthQuestion } from "./synthQuestions.ts";
import { makeWorld, worldSizeFor, type Fact, type World } from "./synthWorld.ts";

export interface SynthOptions {
  n: number;
  /** Prompt tokens (template + document + question), the measure curriculum phases use. */
  minTokens: number;
  maxTokens: number;
  seed: number;
  /** Question kinds, used in turn (record i gets kinds[i % kinds.length]). */
  kinds: SynthKind[];
  /** Tokenizer name whose tokens lengths are measured in. */
  tokenizer: string;
  /** How the gold reasoning cites its evidence (synthQuestions.ts); "cite" unless given. */
  reasoning?: ReasoningStyle;
}

export const DEFAULT_SYNTH: SynthOptions = {
  n: 100,
  minTokens: 256, // short enough that a tiny model trained from scratch can learn the task
  maxTokens: 1024,
  seed: 0,
  kinds: [...SYNTH_KINDS],
  tokenizer: "cl100k_base", // the default tiktoken encoding; any TIKTOKEN_NAMES entry works
};

export const GENERATOR_VERSION = "longrl-synth-v1";

interface Passage {
  text: string;
  tokens: number;
  fact?: Fact;
}

/**
 * Distractor passages in order: facts near the evidence (same subject, a shared name part, a shared
 * relation, or a choice option) interleaved with the rest, whose groups (people, companies, metrics) take turns.
 * Metric facts sometimes come as a small table of one series. Evidence facts are never repeated.
 */
function* distractors(world: World, q: SynthQuestion, rng: Rng): Generator<{ text: string }> {
  const used = new Set(q.evidence.map((f) => f.key));
  const parts = new Set(q.evidence.flatMap((f) => f.subject.split(" ")));
  const near = (f: Fact) =>
    q.evidence.some((e) => e.subject === f.subject || (e.rel === f.rel && f.subject.split(" ").some((w) => parts.has(w)))) ||
    q.mentions.some((m) => f.object === m || f.subject === m);
  const pool = world.facts.filter((f) => !used.has(f.key));
  const nearQ = rng.shuffle(pool.filter(near));
  const groups = (["person", "company", "metric"] as const).map((g) => rng.shuffle(pool.filter((f) => f.group === g && !near(f))));
  let turn = 0;
  const take = (list: Fact[]): Fact | undefined => {
    while (list.length > 0) {
      const f = list.pop()!;
      if (!used.has(f.key)) return f;
    }
    return undefined;
  };
  for (;;) {
    let f: Fact | undefined = turn % 2 === 0 ? take(nearQ) : undefined;
    for (let k = 0; f === undefined && k < 3; k++) f = take(groups[(turn + k) % 3]!);
    f ??= take(nearQ);
    turn++;
    if (f === undefined) return;
    used.add(f.key);
    if (f.group === "metric" && rng.next() < 0.3) {
      const series = [f];
      for (const dy of [1, 2]) {
        const g = world.factByKey.get(`metric|${f.subject}|${f.metric}|${f.year! + dy}`);
        if (g && !used.has(g.key)) {
          used.add(g.key);
          series.push(g);
        }
      }
      if (series.length > 1) {
        yield { text: `${f.subject} ${f.metric} in million dollars: ${series.map((s) => `${s.year}: ${s.value}`).join("; ")}.` };
        continue;
      }
    }
    yield { text: f.sentence };
  }
}

function render(passages: readonly Passage[]): string {
  return passages.map((p, i) => `Passage ${i + 1}: ${p.text}`).join("\n");
}

/** Put evidence passage j near position (j + u_j) / R of the document, u_j in [0.25, 0.75): far apart. */
function layout(evidence: Passage[], offsets: number[], fill: Passage[]): Passage[] {
  const m = evidence.length + fill.length;
  const slots: Array<Passage | undefined> = new Array(m).fill(undefined);
  evidence.forEach((p, j) => {
    let at = Math.min(m - 1, Math.floor(((j + offsets[j]!) * m) / evidence.length));
    while (slots[at] !== undefined) at = (at + 1) % m;
    slots[at] = p;
  });
  let k = 0;
  return slots.map((s) => s ?? fill[k++]!);
}

export function generateRecord(index: number, opts: SynthOptions, tok: Tokenizer): DocRecord {
  const rng = createRng(opts.seed, index);
  const kind = opts.kinds[index % opts.kinds.length]!;
  const target = rng.range(opts.minTokens, opts.maxTokens);
  const world = makeWorld(rng, worldSizeFor(target));
  const q = makeQuestion(kind, world, rng);
  const label = tok.count("Passage 100: ") + 1; // label and newline, per passage
  const promptOf = (context: string) => buildPrompt({ category: q.category, context, question: q.question, choices: q.choices });
  const overhead = tok.count(promptOf(""));
  // Multi-hop evidence is laid out in shuffled order, so the chain does not read top to bottom.
  const order = q.kind === "multihop" ? rng.shuffle(q.evidence) : q.evidence;
  const evidence: Passage[] = order.map((f) => ({ text: f.sentence, tokens: tok.count(f.sentence) + label, fact: f }));
  const offsets = evidence.map(() => 0.25 + 0.5 * rng.next());
  const stream = distractors(world, q, rng);
  const fill: Passage[] = [];
  let estimate = overhead + evidence.reduce((s, p) => s + p.tokens, 0);
  const grow = (until: number) => {
    while (estimate < until) {
      const next = stream.next();
      if (next.done) return false;
      const p = { text: next.value.text, tokens: tok.count(next.value.text) + label };
      fill.push(p);
      estimate += p.tokens;
    }
    return true;
  };
  if (estimate > opts.maxTokens) {
    throw usageError(
      `data synth: a ${kind} record needs about ${estimate} prompt tokens before any distractor; raise --max-tokens above ${opts.maxTokens}`,
    );
  }
  grow(target);
  for (let round = 0; round < 16; round++) {
    const passages = layout(evidence, offsets, fill);
    const context = render(passages);
    const tokens = tok.count(promptOf(context));
    if (tokens >= opts.minTokens && tokens <= opts.maxTokens) {
      const passageOf = (f: Fact) => passages.findIndex((p) => p.fact === f) + 1;
      const rec: DocRecord = {
        id: `synth-${opts.seed}-${index}`,
        dataSource: q.dataSource,
        category: q.category,
        context,
        question: q.question,
        answer: q.answer,
        reasoning: q.reasoning(passageOf, opts.reasoning ?? "cite"),
        meta: {
          generator: GENERATOR_VERSION, kind, relation: q.relation, hops: q.hops, seed: opts.seed, index,
          evidence: q.evidence.map(passageOf), passages: passages.length,
        },
        promptTokens: tokens,
        promptTokenizer: tok.name,
      };
      if (q.choices) rec.choices = q.choices;
      return rec;
    }
    if (tokens > opts.maxTokens) {
      // Drop distractors from the end until the estimate is back at the target (at least one).
      let excess = tokens - Math.min(target, opts.maxTokens);
      do {
        const p = fill.pop();
        if (!p) break;
        excess -= p.tokens;
        estimate -= p.tokens;
      } while (excess > 0);
    } else if (!grow(estimate + Math.max(1, Math.max(target, opts.minTokens) - tokens))) {
      throw usageError(
        `data synth: record ${index} ran out of facts at ${tokens} prompt tokens (< --min-tokens ${opts.minTokens}); ` +
          `the vocabulary holds about 90000 tokens of facts, lower --min-tokens`,
      );
    }
  }
  throw usageError(
    `data synth: record ${index} could not land in [${opts.minTokens}, ${opts.maxTokens}] tokens; ` +
      `a passage is 10-30 tokens, so widen the range to at least 60 tokens`,
  );
}

export function generateRecords(opts: SynthOptions, tok: Tokenizer, onRecord?: (i: number) => void): DocRecord[] {
  checkSynthOptions(opts);
  const out: DocRecord[] = [];
  for (let i = 0; i < opts.n; i++) {
    out.push(generateRecord(i, opts, tok));
    onRecord?.(i);
  }
  return out;
}

export function checkSynthOptions(o: SynthOptions): void {
  if (!Number.isInteger(o.n) || o.n < 1) throw usageError(`--n ${o.n} must be a positive integer`);
  if (!Number.isInteger(o.minTokens) || o.minTokens < 1) throw usageError(`--min-tokens ${o.minTokens} must be a positive integer`);
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < o.minTokens) {
    throw usageError(`--max-tokens ${o.maxTokens} must be an integer >= --min-tokens ${o.minTokens}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) throw usageError(`--seed ${o.seed} must be an integer in [0, 2^32)`);
  if (o.kinds.length === 0) throw usageError(`--categories is empty; choose from ${SYNTH_KINDS.join(", ")}`);
}

/** Parse --reasoning. */
export function parseReasoning(style: string): ReasoningStyle {
  if (!(REASONING_STYLES as readonly string[]).includes(style)) throw usageError(`--reasoning ${style} is not one of ${REASONING_STYLES.join(", ")}`);
  return style as ReasoningStyle;
}

/** Parse --categories: kinds (lookup, multihop, docmath, choice) or the record categories qa (= lookup, multihop) and math. */
export function parseKinds(list: string): SynthKind[] {
  const out: SynthKind[] = [];
  for (const raw of list.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const expanded = raw === "qa" ? ["lookup", "multihop"] : raw === "math" ? ["docmath"] : [raw];
    for (const k of expanded) {
      if (!(SYNTH_KINDS as readonly string[]).includes(k)) {
        throw usageError(`--categories: '${raw}' is not a kind; use ${SYNTH_KINDS.join(", ")} (or qa, math)`);
      }
      if (!out.includes(k as SynthKind)) out.push(k as SynthKind);
    }
  }
  return out;
}
