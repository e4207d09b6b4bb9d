// The local judge backend: a model directory run on the GPU. Two hand-built judges whose greedy reply is
// fixed ("[[YES]]" or "[[NO]]", whatever the question) show that verdicts flow into the hybrid reward; a
// random model shows a reply without a verdict falling back to the rule score. Also: the cache is per
// judge directory, `longrl verify --judge local`, and bad options as one-line errors.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runVerify, type VerifyArgs } from "../../src/commands/verify.ts";
import type { Gpu } from "../../src/gpu/index.ts";
import { writeTensor } from "../../src/gpu/index.ts";
import { saveCheckpoint } from "../../src/model/checkpoint.ts";
import { freshConfig } from "../../src/model/config.ts";
import { createParams, param, releaseParams } from "../../src/model/params.ts";
import { createJudge } from "../../src/reward/backend.ts";
import { DEFAULT_JUDGE, DEFAULT_REWARD, type JudgeOptions } from "../../src/reward/config.ts";
import { computeRewards } from "../../src/reward/hybrid.ts";
import { JUDGE_SYSTEM_PROMPT, type Judge } from "../../src/reward/judge.ts";
import { localJudgePrompt } from "../../src/reward/local.ts";
import { applyChatTemplate } from "../../src/tokenizer/chat.ts";
import { buildCompactVocab, COMPACT_VOCAB_FILE, compactTokenizer, saveCompactVocab } from "../../src/tokenizer/compact.ts";
import { loadTokenizer, type LoadedTokenizer } from "../../src/tokenizer/index.ts";
import { LongrlError } from "../../src/util/errors.ts";
import { tempDirs, testGpu } from "../helpers.ts";

const temp = tempDirs();
const root = temp.make("longrl-localjudge-");
let gpu: Gpu;
let tok: LoadedTokenizer;
const dirs = { yes: join(root, "yes"), no: join(root, "no"), random: join(root, "random") };
const C = 32;

/**
 * Saves a one-layer model whose layers add nothing (o_proj and down_proj are zero), so the logits at a
 * position depend on its token only: a bigram table. Row `chain[i]` of the embedding is the unit vector
 * e_i and the LM head maps e_i to chain[i + 1], so greedy decoding after chain[0] writes the rest of it.
 */
async function saveBigramModel(dir: string, chain: number[] | null, seed: number): Promise<void> {
  const cfg = freshConfig({ vocabSize: tok.vocabSize, hiddenSize: C, intermediateSize: 48, numLayers: 1, numHeads: 4, numKvHeads: 2, tieWordEmbeddings: false, maxPositions: 1024, eosTokenId: tok.tokenId(tok.eosToken!) ?? null });
  const params = createParams(gpu, cfg, seed);
  if (chain) {
    expect(new Set(chain).size).toBe(chain.length); // a bigram table cannot write a token twice
    const V = cfg.vocabSize;
    const embed = new Float32Array(V * C);
    const head = new Float32Array(V * C);
    chain.forEach((id, i) => {
      embed[id * C + i] = 1;
      if (i + 1 < chain.length) head[chain[i + 1]! * C + i] = 10;
    });
    writeTensor(gpu, param(params, "embed"), embed);
    writeTensor(gpu, param(params, "lmHead"), head);
    for (const n of ["layers.0.wo", "layers.0.wDown"]) writeTensor(gpu, param(params, n), new Float32Array(param(params, n).size));
  }
  saveCompactVocab(join(root, COMPACT_VOCAB_FILE), compactVocab);
  await saveCheckpoint(gpu, dir, { config: cfg, params, extraFiles: { [COMPACT_VOCAB_FILE]: join(root, COMPACT_VOCAB_FILE) } });
  releaseParams(gpu, params);
}

let compactVocab: ReturnType<typeof buildCompactVocab>;

beforeAll(async () => {
  gpu = await testGpu();
  const base = loadTokenizer("cl100k_base");
  const sample = applyChatTemplate({ template: "chatml", thinkByDefault: false }, [{ role: "system", content: "s" }, { role: "user", content: "u" }], { addGenerationPrompt: true });
  compactVocab = buildCompactVocab(base, [sample, "[[YES]] [[NO]] Problem: Answer 1: Answer 2: Where is the meeting? Paris Lyon the French capital", JUDGE_SYSTEM_PROMPT]); // whole tokens for the judge prompt (bytes would do too)
  tok = compactTokenizer(base, compactVocab);
  const last = tok.encode(sample).at(-1)!; // the generation prompt's last token: every judge prompt ends with it
  await saveBigramModel(dirs.yes, [last, ...tok.encode("[[YES]]")], 1);
  await saveBigramModel(dirs.no, [last, ...tok.encode("[[NO]]")], 1);
  await saveBigramModel(dirs.random, null, 2);
});
afterAll(() => temp.removeAll());

async function localJudge(model: string, over: Partial<JudgeOptions> = {}): Promise<Judge> {
  const j = await createJudge({ ...DEFAULT_JUDGE, backend: "local", model, cacheDir: "", maxTokens: 8, concurrency: 4, ...over }, gpu);
  if (!j) throw new Error("createJudge returned null for local");
  return j;
}

const T = "<think>r</think>";
const items = [
  { response: `${T}Therefore, the answer is Lyon.`, groundTruth: "Paris", dataSource: "musique", question: "Where is the meeting?" },
  { response: `${T}Therefore, the answer is the French capital.`, groundTruth: "Paris", dataSource: "musique", question: "Where is the meeting?" },
  { response: `${T}Therefore, the answer is Paris.`, groundTruth: "Paris", dataSource: "musique", question: "Where is the meeting?" },
  { response: `${T}Lyon, I think.`, groundTruth: "Paris", dataSource: "musique", question: "Where is the meeting?" },
  { response: `${T}Therefore, the answer is the capital of France.`, groundTruth: "Paris", dataSource: "musique", question: "Where is the meeting?" },
  { response: `${T}Therefore, the answer is Rome.`, groundTruth: "Paris", dataSource: "musique", question: "Where is the meeting?" },
];

test("the prompt is the openai backend's system and user turns in the judge's chat format", () => {
  const ids = localJudgePrompt(tok, "Where?", "Lyon", "Paris");
  const text = tok.decode(ids);
  expect(text.startsWith(`<|im_start|>system\n${JUDGE_SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n\nProblem: Where?\nAnswer 1: Lyon\nAnswer 2: Paris\n<|im_end|>\n`)).toBe(true);
  expect(text.endsWith("<|im_start|>assistant\n")).toBe(true);
});

test("a judge that says [[YES]] lifts every judged answer to 1; one that says [[NO]] leaves the rule score", async () => {
  const yes = await localJudge(dirs.yes);
  const a = await computeRewards(items, DEFAULT_REWARD, yes);
  // Asked only where the rule score is below 1 and an answer was extracted: items 0, 1, 4, 5 (not 2: exact; not 3: no marker).
  expect(a.results.map((r) => r.judge)).toEqual([1, 1, null, null, 1, 1]);
  expect(a.results.map((r) => r.score)).toEqual([1, 1, 1, 0, 1, 1]);
  expect(yes.stats()).toMatchObject({ asked: 4, yes: 4, no: 0, failures: 0 });
  yes.close();

  const no = await localJudge(dirs.no);
  const b = await computeRewards(items, DEFAULT_REWARD, no);
  expect(b.results.map((r) => r.judge)).toEqual([0, 0, null, null, 0, 0]);
  expect(b.results.map((r) => r.score)).toEqual(b.results.map((r) => r.rule));
  expect(no.stats()).toMatchObject({ asked: 4, yes: 0, no: 4, failures: 0 });
  no.close();
});

test("a reply without a verdict is a counted failure and the reward keeps the rule score", async () => {
  const j = await localJudge(dirs.random, { maxTokens: 3 });
  const { results } = await computeRewards(items, DEFAULT_REWARD, j);
  expect(results.map((r) => r.judgeError ?? null)).toEqual(["no verdict", "no verdict", null, null, "no verdict", "no verdict"]);
  expect(results.map((r) => r.score)).toEqual(results.map((r) => r.rule));
  expect(j.stats()).toMatchObject({ asked: 4, failures: 4, failureReasons: { "no verdict": 4 } });
  j.close();
});

test("questions asked together are all answered when they fill several batches of judge.concurrency, a partial one last", async () => {
  // 7 questions of different prompt lengths at concurrency 3: batches of 3, 3 and 1, each a ragged generate call.
  const predictions = ["Lyon", "Lyon Lyon", "the French capital", "Paris Lyon Lyon", "Lyon, the capital", "the meeting", "Answer Lyon Paris Lyon"];
  for (const concurrency of [3, 1]) {
    const j = await localJudge(dirs.yes, { concurrency });
    const verdicts = await Promise.all(predictions.map((p) => j.ask("Where is the meeting?", p, "Paris")));
    expect(verdicts).toEqual(predictions.map(() => ({ verdict: 1, cached: false })));
    expect(j.stats()).toMatchObject({ asked: 7, yes: 7, failures: 0 });
    j.close();
  }
  // The [[NO]] judge with all 7 in one batch: each row of the ragged batch decodes to its verdict.
  const no = await localJudge(dirs.no, { concurrency: 8 });
  expect((await Promise.all(predictions.map((p) => no.ask("Where is the meeting?", p, "Paris")))).map((v) => v.verdict)).toEqual(predictions.map(() => 0));
  no.close();
});

test("verdicts are cached per judge directory", async () => {
  const cacheDir = temp.make("longrl-localjudge-cache-");
  const first = await localJudge(dirs.yes, { cacheDir });
  expect((await first.ask("Where?", "Lyon", "Paris")).verdict).toBe(1);
  first.close();
  const again = await localJudge(dirs.yes, { cacheDir });
  expect(await again.ask("Where?", "Lyon", "Paris")).toEqual({ verdict: 1, cached: true });
  again.close();
  const other = await localJudge(dirs.no, { cacheDir }); // another directory: its own verdicts
  expect(await other.ask("Where?", "Lyon", "Paris")).toEqual({ verdict: 0, cached: false });
  other.close();
});

test("longrl verify --judge local --judge-model DIR", async () => {
  const input = join(temp.make("longrl-localjudge-verify-"), "preds.jsonl");
  await Bun.write(input, `${items.map((i) => JSON.stringify({ output: i.response, ground_truth: i.groundTruth, data_source: i.dataSource, question: i.question })).join("\n")}\n`);
  const out: string[] = [];
  const err: string[] = [];
  const args: VerifyArgs = {
    input, judge: "local", judgeUrl: DEFAULT_JUDGE.baseUrl, judgeModel: dirs.yes, judgeApiKeyEnv: "", judgeTimeoutMs: 1000,
    judgeRetries: 0, judgeConcurrency: 2, judgeCache: "", judgeMaxTokens: 8, requireThink: true, json: true,
  };
  await runVerify(args, { write: (s: string) => out.push(s) }, { write: (s: string) => err.push(s) }, gpu);
  expect(out.join("").trim().split("\n").map((l) => JSON.parse(l).score)).toEqual([1, 1, 1, 0, 1, 1]);
  expect(JSON.parse(err.join(""))).toMatchObject({ n: 6, judge: { asked: 4, yes: 4, failures: 0 } });
});

test("bad options: one-line errors naming the field", async () => {
  const message = async (opts: Partial<JudgeOptions>) => {
    try {
      await localJudge(dirs.yes, opts);
    } catch (e) {
      expect(e).toBeInstanceOf(LongrlError);
      return (e as Error).message;
    }
    throw new Error("no error");
  };
  expect(await message({ model: "" })).toContain("reward.judge.model");
  expect(await message({ model: join(root, "missing") })).toMatch(/reward\.judge\.model '.*missing' has no config\.json/);
  expect(await message({ concurrency: 0 })).toContain("reward.judge.concurrency");
  // A prompt that leaves no room for the reply within the model's 1024 positions is a per-question failure.
  const j = await localJudge(dirs.yes, { maxTokens: 1000 });
  expect(await j.ask("Where?", "Lyon", "Paris")).toEqual({ verdict: null, cached: false, error: "prompt too long" });
  j.close();
});
