// Wrong-answer kinds (`longrl errors`): each sample classified against its record's document and evidence
// passages, counted per group and over all, against a hand classification; one-line errors for files that
// do not match.
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runErrors } from "../../src/commands/errors.ts";
import { citedPassages, normalizeSpan, type ErrorRow } from "../../src/eval/errors.ts";
import { tempDirs } from "../helpers.ts";

const dirs = tempDirs();
afterAll(() => dirs.removeAll());

describe("errors", () => {
  const dir = dirs.make("errors");
  const data = join(dir, "data.jsonl");
  const rec = (id: string, context: string, meta: Record<string, unknown>) =>
    JSON.stringify({ id, data_source: "synth_lookup", category: "qa", context, question: "q?", answer: "Oslo", meta });
  writeFileSync(data, [
    rec("m", "Passage 1: The mayor of Yarrow is Tilda Yoder.\nPassage 2: The mayor of Corrin is Tilda  Wexley.", { relation: "mayor", evidence: [1] }),
    rec("b", "Passage 1: Dario Ivarsen was born in Dravo.", { relation: "birthplace", evidence: [1] }),
    rec("x", "Passage 1: Nothing to cite here.", { relation: "other" }),
  ].join("\n") + "\n");
  const sample = (id: string, pred: string | null, hybrid: number, response: string) =>
    JSON.stringify({ id, data_source: "synth_lookup", sample: 0, prompt_tokens: 10, response, pred, hybrid });
  const evalPath = join(dir, "eval.jsonl");
  writeFileSync(evalPath, [
    sample("m", "Tilda Yoder", 1, "The mayor of Yarrow is Tilda Yoder. (Passage 1)"), // right, cites the evidence
    sample("m", "tilda wexley.", 0, "(Passage 2)"), // another span of the document (case, spaces and period aside)
    sample("m", "Tilda Yodel", 0, "(Passage 1)"), // absent from the document, though it cites the evidence
    sample("m", "Yoder Wexley", 0, "no citation"), // absent as a span, but both its words stand in the document
    sample("b", null, 0, "no answer"), // no answer
    sample("x", "foo", 0, "(Passage 1)"), // absent; the record names no evidence
  ].join("\n") + "\n");

  const rows = (groupBy?: string): ErrorRow[] => {
    let json = "";
    runErrors({ eval: evalPath, data, groupBy, json: true }, { write: (s: string) => (json += s) });
    return JSON.parse(json) as ErrorRow[];
  };

  test("every sample lands in one kind; citations count only for records with evidence", () => {
    const [all] = rows();
    expect(all).toEqual({
      label: "all", samples: 6, right: 1, noAnswer: 1, notInDocument: 3, inDocument: 1, wordsInDocument: 1,
      rightWithEvidence: 1, wrongWithEvidence: 4, rightCiting: 1, wrongCiting: 1,
    });
  });

  test("--group-by gives a row per value of a record field, in sorted order, then all", () => {
    const r = rows("meta.relation");
    expect(r.map((x) => [x.label, x.samples, x.right, x.noAnswer, x.notInDocument, x.wordsInDocument, x.inDocument, x.wrongCiting])).toEqual([
      ["meta.relation=birthplace", 1, 0, 1, 0, 0, 0, 0],
      ["meta.relation=mayor", 4, 1, 0, 2, 1, 1, 1],
      ["meta.relation=other", 1, 0, 0, 1, 0, 0, 0],
      ["all", 6, 1, 1, 3, 1, 1, 1],
    ]);
    let text = "";
    runErrors({ eval: evalPath, data, groupBy: "meta.relation", json: false }, { write: (s: string) => (text += s) });
    // mayor: 3 wrong, two absent (one of them its words all in the document), one in it; its right sample cites the
    // evidence, one of three wrong ones does
    expect(text).toMatch(/^meta\.relation=mayor\s+4\s+25\.0\s+3\s+0\.0\s+66\.7\s+33\.3\s+33\.3\s+100\.0\s+33\.3$/m);
    expect(text).toMatch(/^meta\.relation=other\s+1\s+0\.0\s+1\s+0\.0\s+100\.0\s+0\.0\s+0\.0\s+-\s+-$/m);
  });

  test("spans compare without case, repeated spaces or a final period; citations are 'Passage N'", () => {
    expect(normalizeSpan("  Tilda   Yoder. ")).toBe("tilda yoder");
    expect([...citedPassages("as Passage 3 says (Passage 11); passage 4")]).toEqual([3, 11]);
  });

  test("an item missing from --data, or a sample line without its response, is a one-line error", () => {
    const other = join(dir, "other.jsonl");
    writeFileSync(other, rec("b", "c", {}) + "\n");
    expect(() => runErrors({ eval: evalPath, data: other, json: false })).toThrow(/item synth_lookup\/m of .*eval\.jsonl is not in .*other\.jsonl; give --data the file the eval was run on/);
    const bare = join(dir, "bare.jsonl");
    writeFileSync(bare, JSON.stringify({ id: "m", data_source: "synth_lookup", pred: "x", hybrid: 0 }) + "\n");
    expect(() => runErrors({ eval: bare, data, json: false })).toThrow(/bare\.jsonl:1: needs the sample's "response"/);
  });
});
