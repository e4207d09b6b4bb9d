// A synthetic world for one document: people, companies and cities with relations and yearly metrics.
// One table (RELATIONS) drives the fact sentences, the question phrases and the multi-hop walk.
import type { Rng } from "../util/rng.ts";
import {
  BIRTH_YEARS, CITIES, COMPANY_NAMES, FOUNDING_YEARS, METRIC_YEARS, METRICS, PERSON_NAMES, PROFESSIONS, type Metric,
} from "./synthVocab.ts";

export type EntityType = "person" | "company" | "city";
export type ValueType = EntityType | "profession" | "year";

export interface Relation {
  name: string;
  from: EntityType;
  to: ValueType;
  /** Noun for questions: "the {noun} of X". */
  noun: string;
  sentence: (subject: string, object: string) => string;
}

const article = (w: string) => (/^[aeiou]/.test(w) ? "an" : "a");

export const RELATIONS: readonly Relation[] = [
  { name: "birthplace", from: "person", to: "city", noun: "birthplace", sentence: (s, o) => `${s} was born in ${o}.` },
  { name: "employer", from: "person", to: "company", noun: "employer", sentence: (s, o) => `${s} works for ${o}.` },
  { name: "profession", from: "person", to: "profession", noun: "profession", sentence: (s, o) => `${s} works as ${article(o)} ${o}.` },
  { name: "birthYear", from: "person", to: "year", noun: "birth year", sentence: (s, o) => `${s} was born in the year ${o}.` },
  { name: "headquarters", from: "company", to: "city", noun: "headquarters city", sentence: (s, o) => `${s} has its headquarters in ${o}.` },
  { name: "founder", from: "company", to: "person", noun: "founder", sentence: (s, o) => `${s} was founded by ${o}.` },
  { name: "foundedYear", from: "company", to: "year", noun: "founding year", sentence: (s, o) => `${s} was founded in the year ${o}.` },
  { name: "mayor", from: "city", to: "person", noun: "mayor", sentence: (s, o) => `The mayor of ${s} is ${o}.` },
];

/** One true statement about the world; numeric facts carry their series (company, metric, year). */
export interface Fact {
  key: string;
  /** The relation name, or "metric". */
  rel: string;
  subject: string;
  object: string;
  sentence: string;
  group: "person" | "company" | "metric";
  metric?: Metric;
  year?: number;
  value?: number;
}

export interface World {
  people: string[];
  companies: string[];
  cities: string[];
  /** relation name → subject → object */
  rel: Map<string, Map<string, string>>;
  facts: Fact[];
  factByKey: Map<string, Fact>;
}

export interface WorldSize {
  people: number;
  companies: number;
  cities: number;
}

/** Entity counts for a prompt of about `tokens` tokens: enough facts to fill it (~15 tokens a passage). */
export function worldSizeFor(tokens: number): WorldSize {
  const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.ceil(x)));
  return {
    people: clamp(tokens / 45, 10, PERSON_NAMES.length),
    companies: clamp(tokens / 350, 4, COMPANY_NAMES.length),
    cities: clamp(tokens / 500, 5, CITIES.length),
  };
}

export function metricSentence(company: string, metric: Metric, year: number, value: number): string {
  return `In ${year}, ${company} reported ${metric} of ${value} million dollars.`;
}

export function metricKey(company: string, metric: string, year: number): string {
  return `metric|${company}|${metric}|${year}`;
}

export function makeWorld(rng: Rng, size: WorldSize): World {
  const people = rng.shuffle(PERSON_NAMES).slice(0, size.people);
  const companies = rng.shuffle(COMPANY_NAMES).slice(0, size.companies);
  const cities = rng.shuffle(CITIES).slice(0, size.cities);
  const rel = new Map<string, Map<string, string>>(RELATIONS.map((r) => [r.name, new Map()]));
  const set = (name: string, s: string, o: string) => rel.get(name)!.set(s, o);
  for (const p of people) {
    set("birthplace", p, rng.pick(cities));
    set("employer", p, rng.pick(companies));
    set("profession", p, rng.pick(PROFESSIONS));
    set("birthYear", p, String(rng.range(BIRTH_YEARS.lo, BIRTH_YEARS.hi)));
  }
  for (const c of companies) {
    set("headquarters", c, rng.pick(cities));
    set("founder", c, rng.pick(people));
    set("foundedYear", c, String(rng.range(FOUNDING_YEARS.lo, FOUNDING_YEARS.hi)));
  }
  const mayors = rng.shuffle(people); // distinct mayors while people last
  cities.forEach((city, i) => set("mayor", city, mayors[i % mayors.length]!));

  const facts: Fact[] = [];
  for (const r of RELATIONS) {
    for (const [s, o] of rel.get(r.name)!) {
      const group = r.from === "person" ? "person" : "company"; // city facts travel with company facts
      facts.push({ key: `${r.name}|${s}`, rel: r.name, subject: s, object: o, sentence: r.sentence(s, o), group });
    }
  }
  for (const c of companies) {
    for (const m of METRICS) {
      // A series that drifts by up to ±20% a year from a base in [100, 900]: values stay 2-4 digits.
      let v = rng.range(100, 900);
      for (let y = METRIC_YEARS.lo; y <= METRIC_YEARS.hi; y++) {
        const value = v;
        facts.push({
          key: metricKey(c, m, y), rel: "metric", subject: c, object: String(value),
          sentence: metricSentence(c, m, y, value), group: "metric", metric: m, year: y, value,
        });
        v = Math.max(20, Math.round(v * (0.8 + 0.4 * rng.next())));
      }
    }
  }
  return { people, companies, cities, rel, facts, factByKey: new Map(facts.map((f) => [f.key, f])) };
}

export function relationByName(name: string): Relation {
  const r = RELATIONS.find((x) => x.name === name);
  if (!r) throw new Error(`synthWorld: no relation '${name}'`);
  return r;
}

/** The fact stating `relation(subject)`. */
export function factOf(world: World, relation: string, subject: string): Fact {
  return world.factByKey.get(`${relation}|${subject}`)!;
}

/** Candidate values of `relation`'s object type for choice options: entities, professions, or the years of that relation. */
export function valuesOfType(world: World, relation: Relation): string[] {
  const t = relation.to;
  if (t === "person") return world.people;
  if (t === "company") return world.companies;
  if (t === "city") return world.cities;
  if (t === "profession") return [...PROFESSIONS];
  return [...new Set(world.rel.get(relation.name)!.values())]; // years the document's own facts use
}
