// What the wrong answers of an eval are (`longrl errors EVAL.jsonl --data F.jsonl`): for each sample, whether it
// scored, and if not, whether it gave no answer, an answer found nowhere in the document, or an answer that is
// another span of the document (the wrong passage found). An answer found nowhere whose every word stands in the
// document is counted apart as well: the document's own words wrongly paired ("Mira Quill" from "Mira Yoder" and
// "Ines Quill"), not an invented name. For records that name their evidence passages (the synthetic generator's
// meta.evidence), also whether the response cites one of them ("(Passage N)"), for right and wrong samples apart: how
// often the right ones cite it is the baseline to read the wrong ones against (a policy may answer right without
// writing the right number). Pure apart from reading the files.
import type { DocRecord } from "../data/record.ts";
import { usageError } from "../util/errors.ts";
import { formatTable, itemKey, readEvalLines, recordGroups } from "./compare.ts";

/** One sample of an eval file, as this analysis reads it. */
interface Sample {
  key: string;
  /** "data_source/id", for errors. */
  name: string;
  label: string;
  pred: string | null;
  response: string;
  hybrid: number;
}

export interface ErrorRow {
  /** "<field>=<value>" or "all". */
  label: string;
  samples: number;
  /** Samples with full credit (hybrid 1). */
  right: number;
  /** Wrong samples by kind: no answer extracted; an answer absent from the document; one found in it. */
  noAnswer: number;
  notInDocument: number;
  inDocument: number;
  /** Of notInDocument, the answers whose every word is a word of the document (a recombination of its words). */
  wordsInDocument: number;
  /** Right and wrong samples of records with meta.evidence, and of those, the ones whose response cites an evidence passage. */
  rightWithEvidence: number;
  wrongWithEvidence: number;
  rightCiting: number;
  wrongCiting: number;
}

/** Lower case, single spaces, no trailing period: "Tilda  Yoder." and "tilda yoder" are the same span. */
export function normalizeSpan(text: string): string {
  return text.toLowerCase().replace(/\s+/g, " ").trim().replace(/\.$/, "").trim();
}

/** The words of a normalized text: its runs of letters and digits. */
function words(normalized: string): string[] {
  return normalized.split(/[^\p{L}\p{N}]+/u).filter((w) => w !== "");
}

/** Passage numbers a response cites as "Passage N" (the synthetic reasoning's "(Passage 11)"). */
export function citedPassages(response: string): Set<number> {
  return new Set([...response.matchAll(/Passage (\d+)/g)].map((m) => Number(m[1])));
}

function readSamples(path: string, labels: Map<string, string> | undefined): Sample[] {
  return readEvalLines(path).map(({ rec, where }) => {
    const { id, data_source: source, pred, response, hybrid } = rec;
    if (typeof id !== "string" || typeof source !== "string") throw usageError(`${where}: needs string fields "id" and "data_source" (an eval sample line)`);
    if (typeof response !== "string") throw usageError(`${where}: needs the sample's "response" (an eval sample line)`);
    if (pred !== null && typeof pred !== "string") throw usageError(`${where}: "pred" must be a string or null`);
    if (typeof hybrid !== "number" || !Number.isFinite(hybrid)) throw usageError(`${where}: "hybrid" must be a finite number`);
    const key = itemKey(source, id);
    return { key, name: `${source}/${id}`, label: labels?.get(key) ?? "", pred, response, hybrid };
  });
}

/**
 * Classifies every sample of an eval against the records it scored (their documents and meta.evidence); one row
 * per value of `groupBy` (a record field, as compare's --group-by) when given, then "all".
 */
export function classifyErrors(evalPath: string, records: readonly DocRecord[], dataPath: string, groupBy?: string): ErrorRow[] {
  const byKey = new Map(records.map((r) => [itemKey(r.dataSource, r.id), r]));
  const labels = groupBy === undefined ? undefined : recordGroups(records, groupBy, dataPath);
  const samples = readSamples(evalPath, labels);
  const docs = new Map<string, { text: string; words: Set<string> }>();
  const row = (label: string): ErrorRow => ({ label, samples: 0, right: 0, noAnswer: 0, notInDocument: 0, inDocument: 0, wordsInDocument: 0, rightWithEvidence: 0, wrongWithEvidence: 0, rightCiting: 0, wrongCiting: 0 });
  const all = row("all");
  const groups = new Map<string, ErrorRow>();
  for (const s of samples) {
    const r = byKey.get(s.key);
    if (!r) throw usageError(`errors: item ${s.name} of ${evalPath} is not in ${dataPath}; give --data the file the eval was run on`);
    let doc = docs.get(s.key);
    if (doc === undefined) {
      const text = normalizeSpan(r.context);
      docs.set(s.key, (doc = { text, words: new Set(words(text)) }));
    }
    const answer = s.pred === null ? "" : normalizeSpan(s.pred);
    const right = s.hybrid >= 1;
    const kind = right ? "right" : answer === "" ? "noAnswer" : doc.text.includes(answer) ? "inDocument" : "notInDocument";
    const answerWords = words(answer);
    const recombined = kind === "notInDocument" && answerWords.length > 0 && answerWords.every((w) => doc.words.has(w));
    const evidence = Array.isArray(r.meta?.evidence) ? (r.meta.evidence as unknown[]).filter((n): n is number => typeof n === "number") : [];
    const cited = citedPassages(s.response);
    const cites = evidence.some((n) => cited.has(n));
    let group = groups.get(s.label);
    if (labels !== undefined && group === undefined) groups.set(s.label, (group = row(`${groupBy}=${s.label}`)));
    for (const t of group ? [all, group] : [all]) {
      t.samples++;
      t[kind]++;
      if (recombined) t.wordsInDocument++;
      if (evidence.length === 0) continue;
      t[right ? "rightWithEvidence" : "wrongWithEvidence"]++;
      if (cites) t[right ? "rightCiting" : "wrongCiting"]++;
    }
  }
  return [...[...groups.values()].sort((a, b) => a.label.localeCompare(b.label)), all];
}

/** Fixed-width text: counts, and the wrong samples' kinds as shares of the wrong samples in %. */
export function formatErrors(rows: readonly ErrorRow[], title: string): string {
  const pct = (n: number, of: number) => (of === 0 ? "-" : ((100 * n) / of).toFixed(1));
  const header = ["group", "samples", "right %", "wrong", "no answer %", "not in doc %", "its words in doc %", "in doc %", "right citing evidence %", "wrong citing evidence %"];
  const cells = rows.map((r) => {
    const wrong = r.samples - r.right;
    return [
      r.label, String(r.samples), pct(r.right, r.samples), String(wrong), pct(r.noAnswer, wrong), pct(r.notInDocument, wrong), pct(r.wordsInDocument, wrong), pct(r.inDocument, wrong),
      pct(r.rightCiting, r.rightWithEvidence), pct(r.wrongCiting, r.wrongWithEvidence),
    ];
  });
  return formatTable(title, header, cells);
}
