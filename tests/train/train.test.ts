// The training run's mechanics at toy size: metrics lines present and finite, eval files, a loadable
// checkpoint, --stop-after then --resume equal to an uninterrupted run, Ctrl-C (SIGINT) saving a
// checkpoint. (The RL stage's own mechanics are tested with it.)
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRunConfig } from "../../src/config/load.ts";
import { loadCheckpoint } from "../../src/model/checkpoint.ts";
import { releaseParams } from "../../src/model/params.ts";
import { runEval } from "../../src/eval/run.ts";
import { runTrain } from "../../src/train/run.ts";
import { prepareData, pretrainDataSeed } from "../../src/train/data.ts";
import { latestCheckpoint, type Session } from "../../src/train/session.ts";
import { sftExamples } from "../../src/train/sft.ts";
import { runMetrics, testGpu } from "../helpers.ts";

const root = mkdtempSync(join(tmpdir(), "longrl-train-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const YAML = `
seed: 3
checkpoint: { interval: 0, keep: 2 }
model:
  fresh: { hiddenSize: 32, intermediateSize: 48, numLayers: 1, numHeads: 2, numKvHeads: 1 }
  recompute: false
data:
  synth: { n: 10, minTokens: 64, maxTokens: 128, seed: 0, kinds: [lookup, choice] }
  evalSynth: { n: 3, minTokens: 64, maxTokens: 128, seed: 1, kinds: [lookup] }
  sftMaxPromptTokens: 128
sft: { steps: 4, batchSize: 4, microBatchSize: 2, lr: 1.0e-3, warmupSteps: 1, maxTokens: 512 }
rl: { enable: false }
eval: { samplesPerItem: 2, kValues: [1, 2], maxResponseTokens: 6, maxItems: 2, lengthBuckets: [100] }
`;
const cfg = loadRunConfig({ text: YAML });


/** Only the copy stage runs: no eval, SFT or RL, no held-out loss checks. */
const COPY_STAGE_ONLY = ["eval.enable=false", "sft.enable=false", "rl.enable=false", "pretrain.enable=true", "pretrain.evalInterval=0"];

const opts = { stages: ["sft", "rl"] as ("sft" | "rl")[], resume: false, quiet: true, device: "test" };

test("a run writes finite metrics, eval tables, a report and a loadable checkpoint", async () => {
  const gpu = await testGpu();
  const dir = join(root, "full");
  expect(await runTrain(gpu, cfg, dir, opts)).toBe(0);
  const lines = runMetrics(dir);
  expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 4]);
  for (const l of lines) {
    expect(l.stage).toBe("sft");
    for (const k of ["loss", "lr", "grad_norm"]) expect(Number.isFinite(l[k])).toBe(true);
  }
  for (const f of ["config.yaml", "report.html", "summary.md", "eval/before-sft.json", "eval/after-sft.jsonl", "plots/sft-loss.svg"]) expect(existsSync(join(dir, f))).toBe(true);
  const ckpt = latestCheckpoint(dir)!;
  expect(ckpt).toBe(join(dir, "checkpoints", "step-4"));
  expect(JSON.parse(readFileSync(join(ckpt, "trainer_state.json"), "utf8")).stage).toBe("done");
  const { params } = await loadCheckpoint(gpu, ckpt);
  releaseParams(gpu, params);
});

test("eval.promptsPerCall changes how many prompts are sampled together, not the samples; lines follow the items' order", async () => {
  const gpu = await testGpu();
  const dir = join(root, "full"); // the run above
  const { config, params } = await loadCheckpoint(gpu, latestCheckpoint(dir)!);
  const data = prepareData(cfg, join(dir, "longrl_vocab.json"), { evalOnly: true });
  const outs = [1, 2, 16].map((n) => join(root, `eval-${n}`));
  for (const [i, n] of [1, 2, 16].entries()) {
    const opts = { ...cfg.eval, maxItems: 3, samplesPerItem: 3, kValues: [1, 3], maxResponseTokens: 12, promptsPerCall: n };
    await runEval({ gpu, cfg, model: config, params, data, judge: null }, "eval", opts, outs[i]);
  }
  releaseParams(gpu, params);
  const lines = outs.map((d) => readFileSync(join(d, "eval.jsonl"), "utf8"));
  expect(lines[0]!.trim().split("\n")).toHaveLength(9);
  // Calls group the prompts by length; the file still lists the items in the data's order, samples in order.
  const rows = lines[0]!.trim().split("\n").map((l) => JSON.parse(l) as { id: string; sample: number; prompt_tokens: number });
  expect(rows.map((x) => `${x.id}/${x.sample}`)).toEqual(data.eval.slice(0, 3).flatMap((e) => [0, 1, 2].map((g) => `${e.record.id}/${g}`)));
  const lens = data.eval.slice(0, 3).map((e) => e.promptIds.length);
  expect(lens).not.toEqual([...lens].sort((a, b) => a - b)); // not in length order already: the regrouping is exercised
  expect(lines[1]).toBe(lines[0]!);
  expect(lines[2]).toBe(lines[0]!);
});

test("--stop-after then --resume gives the uninterrupted run's metrics", async () => {
  const gpu = await testGpu();
  const dir = join(root, "resumed");
  expect(await runTrain(gpu, cfg, dir, { ...opts, stopAfter: 2 })).toBe(130);
  expect(runMetrics(dir).length).toBe(2);
  expect(latestCheckpoint(dir)).toBe(join(dir, "checkpoints", "step-2"));
  expect(await runTrain(gpu, loadRunConfig({ file: join(dir, "config.yaml") }), dir, { ...opts, resume: true })).toBe(0);
  expect(runMetrics(dir)).toEqual(runMetrics(join(root, "full")));
});

test("--profile times every kernel by stage and part, writes profile.json, and changes no metric", async () => {
  const dir = join(root, "profiled");
  const file = join(root, "profiled.yaml");
  writeFileSync(file, YAML);
  const proc = Bun.spawn([process.execPath, "src/cli.ts", "train", file, "--output", dir, "--quiet", "--profile"], { stdout: "pipe", stderr: "pipe" });
  const code = await proc.exited;
  const stderr = await new Response(proc.stderr).text();
  expect(code).toBe(0);
  expect(stderr).toMatch(/kernel time \d+\.\d\d s in \d+ dispatches/);
  expect(stderr).toContain(`kernel profile in ${join(dir, "profile.json")}`);
  const prof = JSON.parse(readFileSync(join(dir, "profile.json"), "utf8")) as { device: string; kernels: { name: string; count: number; ms: number }[] };
  const names = prof.kernels.map((k) => k.name);
  for (const prefix of ["sft forward matmul/", "sft backward matmul/", "sft optimizer adamw/", "eval prefill ", "eval decode "]) expect(names.some((n) => n.startsWith(prefix))).toBe(true);
  expect(prof.kernels.every((k) => k.count > 0 && k.ms >= 0)).toBe(true);
  expect(runMetrics(dir)).toEqual(runMetrics(join(root, "full")));
});

test("Ctrl-C (SIGINT) saves a loadable checkpoint and exits 130", async () => {
  const dir = join(root, "sigint");
  const file = join(root, "long.yaml");
  writeFileSync(file, YAML.replace("steps: 4", "steps: 200").replace("eval: {", "eval: { enable: false,"));
  const proc = Bun.spawn([process.execPath, "src/cli.ts", "train", file, "--output", dir, "--quiet"], { stdout: "pipe", stderr: "pipe" });
  const metricsFile = join(dir, "metrics.jsonl");
  for (let i = 0; i < 600 && !(existsSync(metricsFile) && readFileSync(metricsFile, "utf8").split("\n").length > 2); i++) await Bun.sleep(100);
  proc.kill("SIGINT");
  const code = await proc.exited;
  const stderr = await new Response(proc.stderr).text();
  expect(code).toBe(130);
  expect(stderr).toContain(`continue with --resume ${dir}`);
  const ckpt = latestCheckpoint(dir)!;
  const state = JSON.parse(readFileSync(join(ckpt, "trainer_state.json"), "utf8"));
  expect(state.stage).toBe("sft");
  expect(state.globalStep).toBe(runMetrics(dir).length);
  const { params } = await loadCheckpoint(await testGpu(), ckpt);
  releaseParams(await testGpu(), params);
});

test("sft.promptLossWeight: the prompt scored as well leaves the response loss as it was; prompt and held-out losses logged", async () => {
  const gpu = await testGpu();
  const run = async (name: string, sets: string[]) => {
    const dir = join(root, name);
    const c = loadRunConfig({ text: YAML, sets: ["eval.enable=false", "sft.steps=2", "sft.evalInterval=1", ...sets] });
    expect(await runTrain(gpu, c, dir, opts)).toBe(0);
    return runMetrics(dir);
  };
  const masked = await run("prompt-w0", []);
  const whole = await run("prompt-w1", ["sft.promptLossWeight=1"]);
  // Step 1 starts from the same parameters on the same batch: the response's log-probs do not depend on the packing.
  expect(whole[0]!.loss as number).toBeCloseTo(masked[0]!.loss as number, 4);
  // The prompt's gradient moves the parameters elsewhere.
  expect(Math.abs((whole[1]!.loss as number) - (masked[1]!.loss as number))).toBeGreaterThan(1e-4);
  for (const l of whole) for (const k of ["prompt_loss", "eval_loss"]) expect(Number.isFinite(l[k])).toBe(true);
  // A fresh model's prompt loss is about log(vocabulary size).
  expect(whole[0]!.prompt_loss as number).toBeGreaterThan(3);
  for (const l of masked) {
    expect(l.prompt_loss).toBeUndefined();
    expect(Number.isFinite(l.eval_loss)).toBe(true);
  }
});

test("sft.adamBeta2 reaches the optimizer: AdamW's first step does not depend on beta2, its second does", async () => {
  const gpu = await testGpu();
  const run = async (name: string, sets: string[]) => {
    const dir = join(root, name);
    expect(await runTrain(gpu, loadRunConfig({ text: YAML, sets: ["eval.enable=false", "sft.steps=3", ...sets] }), dir, opts)).toBe(0);
    return runMetrics(dir).map((l) => l.loss as number);
  };
  const slow = await run("beta2-default", []);
  const fast = await run("beta2-0.5", ["sft.adamBeta2=0.5"]);
  // Step 1's bias-corrected update is g / |g| whatever beta2 is, so the loss before step 2 is the same.
  expect(fast[1]!).toBeCloseTo(slow[1]!, 5);
  // Step 2 divides by another average of squared gradients: the parameters part.
  expect(Math.abs(fast[2]! - slow[2]!)).toBeGreaterThan(1e-4);
});

test("pretrain: copy lists before SFT, their own stage in the metrics, the vocabulary and the checkpoints; resumable mid-stage", async () => {
  const gpu = await testGpu();
  const sets = ["eval.enable=false", "sft.steps=2", "pretrain.enable=true", "pretrain.steps=3", "pretrain.records=12", "pretrain.batchSize=4", "pretrain.microBatchSize=2", "pretrain.evalInterval=2"];
  const c = loadRunConfig({ text: YAML, sets });
  const full = join(root, "pretrain");
  expect(await runTrain(gpu, c, full, opts)).toBe(0);
  const lines = runMetrics(full);
  expect(lines.map((l) => [l.stage, l.step])).toEqual([["pretrain", 1], ["pretrain", 2], ["pretrain", 3], ["sft", 4], ["sft", 5]]);
  for (const l of lines) expect(Number.isFinite(l.loss)).toBe(true);
  expect(lines.filter((l) => l.stage === "pretrain").map((l) => Number.isFinite(l.eval_loss))).toEqual([false, true, true]);
  // The copy lists' tokens join the compact vocabulary (the same run without them has fewer ids).
  const ids = (dir: string) => JSON.parse(readFileSync(join(dir, "longrl_vocab.json"), "utf8")).ids.length;
  expect(ids(full)).toBeGreaterThan(ids(join(root, "full")));
  expect(readFileSync(join(full, "report.html"), "utf8")).toContain("pretraining (copy) loss");
  // Stopped inside the pretraining stage, then resumed: the same metrics.
  const resumed = join(root, "pretrain-resumed");
  expect(await runTrain(gpu, c, resumed, { ...opts, stopAfter: 2 })).toBe(130);
  expect(JSON.parse(readFileSync(join(latestCheckpoint(resumed)!, "trainer_state.json"), "utf8")).stage).toBe("pretrain");
  expect(await runTrain(gpu, loadRunConfig({ file: join(resumed, "config.yaml") }), resumed, { ...opts, resume: true })).toBe(0);
  expect(runMetrics(resumed)).toEqual(lines);
});

test("pretrain.recite: recitations join the copy lists, and the held-out loss is given per kind and over both", async () => {
  const gpu = await testGpu();
  const sets = [...COPY_STAGE_ONLY, "pretrain.steps=2", "pretrain.records=6", "pretrain.recite={records: 5, minTokens: 64, maxTokens: 160, lines: 3}", "pretrain.batchSize=4", "pretrain.microBatchSize=2"];
  const c = loadRunConfig({ text: YAML, sets });
  const dir = join(root, "recite");
  mkdirSync(dir, { recursive: true });
  const data = prepareData(c, join(dir, "longrl_vocab.json"));
  const kinds = (xs: { record: { dataSource: string } }[]) => xs.map((e) => e.record.dataSource);
  expect(kinds(data.pretrain)).toEqual([...Array(6).fill("synth_copy"), ...Array(5).fill("synth_recite")]);
  expect(kinds(data.pretrainEval)).toEqual([...Array(32).fill("synth_copy"), ...Array(32).fill("synth_recite")]);
  expect(await runTrain(gpu, c, join(root, "recite-run"), opts)).toBe(0);
  const last = runMetrics(join(root, "recite-run")).at(-1)!;
  const [all, copy, recite] = [last.eval_loss, last.eval_loss_synth_copy, last.eval_loss_synth_recite] as number[];
  for (const x of [all, copy, recite]) expect(Number.isFinite(x)).toBe(true);
  // eval_loss is the token-weighted mean of the two: between them
  expect(all).toBeGreaterThan(Math.min(copy!, recite!));
  expect(all).toBeLessThan(Math.max(copy!, recite!));
});

test("pretrain.dataSeed: the copy lists and recitations come from it, not from the run's seed", () => {
  const load = (sets: string[]) => loadRunConfig({ text: YAML, sets: ["pretrain.enable=true", "pretrain.records=6", "pretrain.recite={records: 4, minTokens: 64, maxTokens: 128, lines: 2}", ...sets] });
  const texts = (c: ReturnType<typeof load>, name: string) => {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    const d = prepareData(c, join(dir, "longrl_vocab.json"));
    return [...d.pretrain, ...d.pretrainEval].map((e) => `${e.record.dataSource}: ${e.record.context} => ${e.record.reasoning}`);
  };
  const own = load(["seed=5"]);
  const other = load(["seed=3", "pretrain.dataSeed=5"]);
  const plain = load(["seed=3"]);
  expect([pretrainDataSeed(own), pretrainDataSeed(other), pretrainDataSeed(plain)]).toEqual([5, 5, 3]);
  expect(texts(other, "data-seed-other")).toEqual(texts(own, "data-seed-own"));
  expect(texts(plain, "data-seed-plain")).not.toEqual(texts(own, "data-seed-own"));
  expect(() => load(["pretrain.dataSeed=-2"])).toThrow("pretrain.dataSeed must be >= -1");
});

test("pretrain.dataSeed: the copy stage draws its batches in that seed's order", async () => {
  const gpu = await testGpu();
  // 3 steps of 2 records from 6: each step's response tokens name the records it drew, whatever the weights
  const sets = [...COPY_STAGE_ONLY, "pretrain.steps=3", "pretrain.records=6", "pretrain.batchSize=2", "pretrain.microBatchSize=2"];
  const drawn = async (name: string, extra: string[]) => {
    expect(await runTrain(gpu, loadRunConfig({ text: YAML, sets: [...sets, ...extra] }), join(root, name), opts)).toBe(0);
    return runMetrics(join(root, name)).map((l) => l.response_tokens);
  };
  const own = await drawn("draw-own", ["seed=5"]);
  expect(own.length).toBe(3);
  expect(await drawn("draw-other", ["seed=3", "pretrain.dataSeed=5"])).toEqual(own);
  expect(await drawn("draw-plain", ["seed=3"])).not.toEqual(own);
});

test("data.sftSynth: SFT draws from its own records when n > 0, else from the train records", () => {
  const own = loadRunConfig({ text: YAML, sets: ["data.sftSynth={n: 6, minTokens: 64, maxTokens: 128, seed: 9, kinds: [lookup]}"] });
  const dir = join(root, "sft-own");
  mkdirSync(dir, { recursive: true });
  const data = prepareData(own, join(dir, "longrl_vocab.json"));
  expect(data.sft!.length).toBe(6);
  const trainIds = new Set(data.train.map((e) => e.record.id + e.record.context));
  for (const e of data.sft!) expect(trainIds.has(e.record.id + e.record.context)).toBe(false);
  const session = (cfg: typeof own, d: typeof data) => ({ cfg, data: d }) as unknown as Session;
  const picked = sftExamples(session(own, data)).examples;
  expect(picked.length).toBeGreaterThan(0);
  expect(picked.every((e) => data.sft!.includes(e))).toBe(true);
  const shared = prepareData(cfg, join(root, "sft-shared-vocab.json"));
  expect(shared.sft).toBeUndefined();
  expect(sftExamples(session(cfg, shared)).examples.every((e) => shared.train.includes(e))).toBe(true);
});

test("a run from a checkpoint (--model DIR) saves the directory's tokenizer with its own checkpoints, so they chain", async () => {
  const gpu = await testGpu();
  const from = (model: string) => loadRunConfig({ text: YAML, sets: [`model.path="${model}"`, "tokenizer.name=", "tokenizer.compactVocab=false", "eval.enable=false", "sft.steps=1"] });
  const first = latestCheckpoint(join(root, "full"))!;
  const second = join(root, "chain-2");
  expect(await runTrain(gpu, from(first), second, opts)).toBe(0);
  const ckpt = latestCheckpoint(second)!;
  expect(readFileSync(join(ckpt, "longrl_vocab.json"), "utf8")).toBe(readFileSync(join(first, "longrl_vocab.json"), "utf8"));
  const third = join(root, "chain-3");
  expect(await runTrain(gpu, from(ckpt), third, opts)).toBe(0);
  expect(runMetrics(third).map((l) => l.stage)).toEqual(["sft"]);
});
