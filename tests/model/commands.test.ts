// `longrl score` and `longrl generate` as other tools meet them: exact JSON shapes, equality with the
// in-process model, one-line errors. A tiny model with a compact cl100k vocabulary is saved first.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveRun } from "../../src/commands/train.ts";
import { readTensor, releaseTensor } from "../../src/gpu/index.ts";
import { packGroups } from "../../src/model/batch.ts";
import { saveCheckpoint } from "../../src/model/checkpoint.ts";
import { freshConfig } from "../../src/model/config.ts";
import { modelForward, releaseBatch, releaseForward, uploadBatch } from "../../src/model/forward.ts";
import { createParams, releaseParams } from "../../src/model/params.ts";
import { buildCompactVocab, COMPACT_VOCAB_FILE, compactTokenizer, saveCompactVocab } from "../../src/tokenizer/compact.ts";
import { loadTokenizer } from "../../src/tokenizer/index.ts";
import { testGpu } from "../helpers.ts";

const root = mkdtempSync(join(tmpdir(), "longrl-cmd-"));
const dir = join(root, "model");
const text = "The capital of Freedonia is Fredville. The answer is Fredville.";
let expected: number[] = [];
let ids: number[] = [];

async function longrl(args: string[]) {
  const proc = Bun.spawn([process.execPath, "src/cli.ts", ...args], { stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr: stderr.split("\n").filter((l) => !l.startsWith("Warning: ") && l !== "").join("\n") }; // Dawn's driver warnings aside
}

beforeAll(async () => {
  const gpu = await testGpu();
  const base = loadTokenizer("cl100k_base");
  const vocab = buildCompactVocab(base, [text, "Hello"]);
  const tok = compactTokenizer(base, vocab);
  const cfg = freshConfig({ vocabSize: vocab.ids.length, hiddenSize: 32, intermediateSize: 48, numLayers: 2, numHeads: 4, numKvHeads: 2, eosTokenId: tok.tokenId(tok.eosToken!) ?? null });
  const params = createParams(gpu, cfg, 5);
  saveCompactVocab(join(root, COMPACT_VOCAB_FILE), vocab);
  await saveCheckpoint(gpu, dir, { config: cfg, params, extraFiles: { [COMPACT_VOCAB_FILE]: join(root, COMPACT_VOCAB_FILE) } });
  ids = tok.encode(text);
  const batch = uploadBatch(gpu, cfg, packGroups([{ prompt: ids.slice(0, 1), responses: [ids.slice(1)] }]));
  const res = modelForward(gpu, cfg, params, batch);
  expected = Array.from((await readTensor(gpu, res.logp)) as Float32Array);
  releaseForward(gpu, res.state);
  for (const t of [res.logp, res.entropy]) releaseTensor(gpu, t);
  releaseBatch(gpu, batch);
  releaseParams(gpu, params);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("score --ids --json: n ids, n-1 log-probs equal to the model's", async () => {
  const r = await longrl(["score", "--model", dir, "--ids", ids.join(","), "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(Object.keys(out)).toEqual(["ids", "logprobs"]);
  expect(out.ids).toEqual(ids);
  expect(out.logprobs.length).toBe(ids.length - 1);
  out.logprobs.forEach((x: number, i: number) => expect(Math.abs(x - expected[i]!)).toBeLessThan(1e-5));
  expect(out.logprobs.every((x: number) => x < 0)).toBe(true);
});

test("score --text uses the directory's tokenizer; generate --json prints one line per sample", async () => {
  const s = JSON.parse((await longrl(["score", "--model", dir, "--text", text, "--json"])).stdout);
  expect(s.ids).toEqual(ids);
  const g = await longrl(["generate", "--model", dir, "--prompt", "Hello", "--n", "3", "--max-new-tokens", "5", "--temperature", "1", "--json"]);
  expect(g.code).toBe(0);
  const lines = g.stdout.trim().split("\n").map((l) => JSON.parse(l));
  expect(lines.map((l) => l.sample)).toEqual([0, 1, 2]);
  for (const l of lines) {
    expect(Object.keys(l)).toEqual(["prompt", "sample", "text", "ids", "logprobs", "finish_reason"]);
    expect(l.ids.length).toBe(l.logprobs.length);
    expect(l.ids.length).toBeLessThanOrEqual(5);
  }
});

test("bad input: one line naming the flag, exit 2", async () => {
  const r = await longrl(["score", "--model", dir, "--ids", "5,x"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe("longrl: --ids: 'x' is not a token id; give non-negative integers separated by commas, e.g. --ids 5,17,3");
  const big = await longrl(["score", "--model", dir, "--ids", "1,99999"]);
  expect(big.code).toBe(2);
  expect(big.stderr).toMatch(/^longrl: --ids: token id 99999 is outside the model's vocabulary of \d+$/);
  const none = await longrl(["score", "--model", join(root, "nope"), "--ids", "1,2"]);
  expect(none.code).not.toBe(0);
  expect(none.stderr.split("\n").length).toBe(1);
});

test("--model DIR on train/sft/rl: the directory's weights with its own tokenizer; a directory without config.json is one line", () => {
  const { cfg, runDir } = resolveRun({ model: dir, set: ["rl.lr=1e-4"], output: join(root, "run"), quiet: false });
  expect(cfg.model.path).toBe(dir);
  expect(cfg.tokenizer.name).toBe("");
  expect(cfg.tokenizer.compactVocab).toBe(false);
  expect(cfg.rl.lr).toBe(1e-4);
  expect(runDir).toBe(join(root, "run"));
  expect(() => resolveRun({ model: join(root, "nope"), quiet: false })).toThrow(`--model ${join(root, "nope")}: no config.json there; give a model directory`);
  expect(() => resolveRun({ model: dir, resume: root, quiet: false })).toThrow("drop CONFIG, --model and --set");
});
