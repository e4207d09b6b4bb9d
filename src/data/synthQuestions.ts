// Question builders for the synthetic generator: lookup, multi-hop chains (2-4 hops), DocMath-style
// arithmetic over scattered values, and multiple choice. Templates are few and regular on purpose.
import type { Category } from "../reward/verify.ts";
import type { Rng } from "../util/rng.ts";
import { METRIC_YEARS, METRICS } from "./synthVocab.ts";
import { factOf, metricKey, RELATIONS, valuesOfType, type Fact, type Relation, type World } from "./synthWorld.ts";

export const SYNTH_KINDS = ["lookup", "multihop", "docmath", "choice"] as const;
export type SynthKind = (typeof SYNTH_KINDS)[number];

export interface SynthQuestion {
  kind: SynthKind;
  dataSource: string;
  category: Category;
  question: string;
  choices?: string[];
  /** Bare answer: an entity or value, a number, or a letter. */
  answer: string;
  hops: number;
  /**
   * What is asked, for grouping results (`longrl compare --group-by meta.relation`): the chain's relation names
   * joined by ">" ("birthYear", "employer>headquarters"), or the arithmetic for docmath ("sum", "ratio", ...).
   */
  relation: string;
  /** Facts the answer needs; each becomes its own passage, spread across the document. */
  evidence: Fact[];
  /** Entities a distractor should mention (choice options), so every option appears in the document. */
  mentions: string[];
  /** Gold reasoning, given the passage number of each evidence fact, in a style. */
  reasoning: (passageOf: (f: Fact) => number, style: ReasoningStyle) => string;
}

interface Chain {
  start: string;
  relations: Relation[];
  facts: Fact[];
  answer: string;
  phrase: string;
}

/** SynthQuestion.relation of a chain: its relation names, first hop first, joined by ">". */
const chainRelation = (c: Chain) => c.relations.map((r) => r.name).join(">");

/** A random walk of `hops` relations from a random entity, never revisiting an entity (so no question is circular). */
function makeChain(world: World, rng: Rng, hops: number): Chain {
  for (let tries = 0; tries < 200; tries++) {
    const startType = rng.pick(["person", "company", "city"] as const);
    const pool = startType === "person" ? world.people : startType === "company" ? world.companies : world.cities;
    const start = rng.pick(pool);
    const seen = new Set([start]);
    const relations: Relation[] = [];
    const facts: Fact[] = [];
    let at = start;
    let type: string = startType;
    let ok = true;
    for (let h = 0; h < hops && ok; h++) {
      const last = h === hops - 1;
      const options = RELATIONS.filter((r) => r.from === type && (last || r.to === "person" || r.to === "company" || r.to === "city"));
      const r = rng.pick(options);
      const fact = factOf(world, r.name, at);
      if (seen.has(fact.object)) ok = false;
      seen.add(fact.object);
      relations.push(r);
      facts.push(fact);
      at = fact.object;
      type = r.to;
    }
    if (!ok) continue;
    const phrase = relations.reduce((p, r) => `the ${r.noun} of ${p}`, start);
    return { start, relations, facts, answer: at, phrase };
  }
  throw new Error("synthQuestions: no acyclic chain found in 200 tries (world too small)");
}

/**
 * How the gold reasoning cites its evidence. "cite": `Passage N says: <sentence>` per fact. "quote": the
 * question restated first (`The question asks for <phrase>.`), then `<sentence> (Passage N)` per fact, so each
 * step starts from words already written (the question's entity) and the rest of the sentence follows them in
 * the document, a copy a small model can learn; "cite" asks it to pick N before it has read anything.
 */
export const REASONING_STYLES = ["cite", "quote"] as const;
export type ReasoningStyle = (typeof REASONING_STYLES)[number];

const cite = (passageOf: (f: Fact) => number, facts: Fact[], style: ReasoningStyle) =>
  facts.map((f) => (style === "quote" ? `${f.sentence} (Passage ${passageOf(f)})` : `Passage ${passageOf(f)} says: ${f.sentence}`)).join("\n");

/** The opening line of a "quote" reasoning; none for "cite". */
const restate = (phrase: string, style: ReasoningStyle) => (style === "quote" ? `The question asks for ${phrase}.\n` : "");

function chainQuestion(world: World, rng: Rng, kind: "lookup" | "multihop"): SynthQuestion {
  const hops = kind === "lookup" ? 1 : rng.range(2, 4);
  const c = makeChain(world, rng, hops);
  return {
    kind,
    dataSource: `synth_${kind}`,
    category: "qa",
    question: `What is ${c.phrase}?`,
    answer: c.answer,
    hops,
    relation: chainRelation(c),
    evidence: c.facts,
    mentions: [],
    reasoning: (p, style) => `${restate(c.phrase, style)}${cite(p, c.facts, style)}\nSo ${c.phrase} is ${c.answer}.`,
  };
}

function choiceQuestion(world: World, rng: Rng): SynthQuestion {
  const hops = rng.range(1, 2);
  const c = makeChain(world, rng, hops);
  const others = rng.shuffle(valuesOfType(world, c.relations[hops - 1]!).filter((v) => v !== c.answer));
  const wrong = others.slice(0, 3);
  // A small world may hold fewer than 3 other years: add neighbours of the answer.
  for (let d = 1; wrong.length < 3; d++) {
    if (!/^\d+$/.test(c.answer)) throw new Error("synthQuestions: fewer than 3 wrong options (world too small)");
    const y = String(Number(c.answer) + (rng.next() < 0.5 ? -d : d));
    if (!wrong.includes(y) && y !== c.answer) wrong.push(y);
  }
  const at = rng.int(4);
  const choices = [...wrong.slice(0, at), c.answer, ...wrong.slice(at)];
  const letter = "ABCD"[at]!;
  return {
    kind: "choice",
    dataSource: "synth_choice",
    category: "choice",
    question: `What is ${c.phrase}?`,
    choices,
    answer: letter,
    hops,
    relation: chainRelation(c),
    evidence: c.facts,
    mentions: wrong,
    reasoning: (p, style) => `${restate(c.phrase, style)}${cite(p, c.facts, style)}\nSo ${c.phrase} is ${c.answer}, which is option ${letter}.`,
  };
}

/** Two decimals, as a plain number string ("1.2", "28.64", "-3.5"). */
const round2 = (x: number) => String(Math.round(x * 100) / 100);

function docmathQuestion(world: World, rng: Rng): SynthQuestion {
  const company = rng.pick(world.companies);
  const metric = rng.pick(METRICS);
  let y1 = rng.range(METRIC_YEARS.lo, METRIC_YEARS.hi);
  let y2 = rng.range(METRIC_YEARS.lo, METRIC_YEARS.hi - 1);
  if (y2 >= y1) y2++;
  if (y2 < y1) [y1, y2] = [y2, y1];
  const f1 = world.factByKey.get(metricKey(company, metric, y1))!;
  const f2 = world.factByKey.get(metricKey(company, metric, y2))!;
  const v1 = f1.value!;
  const v2 = f2.value!;
  const of = `the ${metric} of ${company}`;
  const op = rng.pick(["sum", "difference", "ratio", "percent"] as const);
  let question: string;
  let answer: string;
  let work: string;
  if (op === "sum") {
    question = `What is the total ${metric} of ${company} in ${y1} and ${y2}, in million dollars?`;
    answer = String(v1 + v2);
    work = `${v1} + ${v2} = ${answer}`;
  } else if (op === "difference") {
    const [hiY, hiV, loY, loV] = v2 >= v1 ? [y2, v2, y1, v1] : [y1, v1, y2, v2];
    question = `How much larger was ${of} in ${hiY} than in ${loY}, in million dollars?`;
    answer = String(hiV - loV);
    work = `${hiV} - ${loV} = ${answer}`;
  } else if (op === "ratio") {
    question = `What is the ratio of ${of} in ${y2} to its ${metric} in ${y1}, rounded to two decimals?`;
    answer = round2(v2 / v1);
    work = `${v2} / ${v1} = ${answer}`;
  } else {
    question = `What is the percent change in ${of} from ${y1} to ${y2}, rounded to two decimals?`;
    answer = round2(((v2 - v1) / v1) * 100);
    work = `(${v2} - ${v1}) / ${v1} * 100 = ${answer}`;
  }
  return {
    kind: "docmath",
    dataSource: "synth_docmath",
    category: "math",
    question,
    answer,
    hops: 2,
    relation: op,
    evidence: [f1, f2],
    mentions: [],
    reasoning: (p, style) => `${cite(p, [f1, f2], style)}\n${work}`,
  };
}

export function makeQuestion(kind: SynthKind, world: World, rng: Rng): SynthQuestion {
  if (kind === "docmath") return docmathQuestion(world, rng);
  if (kind === "choice") return choiceQuestion(world, rng);
  return chainQuestion(world, rng, kind);
}
