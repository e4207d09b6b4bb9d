// The RL stage's mechanics at toy size (issue 6): two curriculum phases, 2 prompts per step, G = 4.
// Rewards come from a deterministic stand-in (a random tiny model never writes an answer), so groups
// of equal and of mixed reward both occur: choice records always score 0 (their groups must be
// dropped), lookup records score by a hash of the response (mixed groups, kept and trained on).
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRunConfig } from "../../src/config/load.ts";
import { evalSlug } from "../../src/eval/run.ts";
import { loadCheckpoint } from "../../src/model/checkpoint.ts";
import { releaseParams } from "../../src/model/params.ts";
import { computeRewards, type RewardItem, type RewardResult } from "../../src/reward/hybrid.ts";
import { referenceCache } from "../../src/train/rl.ts";
import { runTrain, type TrainOptions } from "../../src/train/run.ts";
import { latestCheckpoint } from "../../src/train/session.ts";
import { fnv1a } from "../../src/util/rng.ts";
import { runMetrics, testGpu } from "../helpers.ts";

const root = mkdtempSync(join(tmpdir(), "longrl-rl-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const YAML = `
seed: 5
checkpoint: { interval: 0, keep: 2 }
model:
  fresh: { hiddenSize: 32, intermediateSize: 48, numLayers: 1, numHeads: 2, numKvHeads: 1, maxPositions: 256 }
  recompute: false
data:
  synth: { n: 12, minTokens: 64, maxTokens: 160, seed: 0, kinds: [lookup, choice] }
  evalSynth: { n: 2, minTokens: 64, maxTokens: 128, seed: 1, kinds: [lookup] }
  sftMaxPromptTokens: 160
sft: { steps: 2, batchSize: 2, microBatchSize: 2, lr: 1.0e-3, warmupSteps: 0, maxTokens: 256 }
rl:
  groupSize: 4
  batchSize: 2
  miniBatchSize: 1
  microBatchSize: 2
  lr: 1.0e-3
  klCoef: 0.01
  maxResponseTokens: 6
  temperature: 1.0
  topP: 1.0
  dynamicSampling: { enable: true, maxRounds: 2 }
  rolloutLogInterval: 1
curriculum:
  phases:
    - { maxPromptTokens: 110, steps: 2 }
    - { maxPromptTokens: 160, steps: 3 }
retrospective: { enable: true, share: 0.5 }
reward:
  overlong: { enable: true, bufferTokens: 2, factor: 0.5 }
eval: { enable: false }
`;
const cfg = loadRunConfig({ text: YAML });

function result(hybrid: number, penalty: number): RewardResult {
  return { score: hybrid + penalty, rule: hybrid, judge: null, hybrid, penalty, acc: hybrid === 1, category: "qa", pred: null, em: null, f1: null };
}

/** Choice records (a letter as ground truth) always 0; others 1 or 0 by a hash of the response. */
const standIn: typeof computeRewards = async (items: readonly RewardItem[]) => {
  const results = items.map((it) => result(/^[A-D]$/.test(it.groundTruth) ? 0 : fnv1a(it.response) % 2, it.responseTokens! >= 5 ? -0.25 : 0));
  return { results, stats: {} as never };
};

const opts: TrainOptions = { stages: ["sft", "rl"], resume: false, quiet: true, device: "test", scoreRollouts: standIn };

type Line = Record<string, unknown>;

function rollouts(dir: string, step: number): Line[] {
  return readFileSync(join(dir, "rollouts", `step-${step}.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Line);
}

test("RL phases: finite metrics per step, dynamic sampling, retrospective draws, a reference KL", async () => {
  const gpu = await testGpu();
  const dir = join(root, "full");
  expect(await runTrain(gpu, cfg, dir, opts)).toBe(0);
  const rl = runMetrics(dir).filter((l) => l.stage === "rl");
  expect(rl.map((l) => [l.phase, l.step])).toEqual([[1, 3], [1, 4], [2, 5], [2, 6], [2, 7]]);
  const always = ["lr", "reward_mean", "reward_std", "rule_mean", "hybrid_mean", "penalty_mean", "accuracy", "groups_kept", "groups_dropped", "rounds", "response_len_mean", "response_len_max", "retro_share", "pool_size"];
  for (const l of rl) for (const k of always) expect([k, Number.isFinite(l[k])]).toEqual([k, true]);
  const trained = rl.filter((l) => (l.groups_kept as number) > 0);
  expect(trained.length).toBeGreaterThan(0);
  for (const l of trained) {
    for (const k of ["loss", "pg_loss", "clip_frac", "ppo_kl", "kl", "entropy", "grad_norm"]) expect([k, Number.isFinite(l[k])]).toEqual([k, true]);
    expect(l.updates).toBe(l.groups_kept); // miniBatchSize 1: one update per kept group
  }
  // The KL to the frozen reference starts at 0 (the first update's policy is the reference) and moves.
  expect(trained[0]!.kl as number).toBeCloseTo(0, 5);
  expect(trained.some((l) => (l.kl as number) > 0)).toBe(true);

  // Dynamic sampling: every dropped group had equal scores, every kept group mixed ones.
  let dropped = 0;
  for (const l of rl) {
    const rows = rollouts(dir, l.step as number);
    const groups: Line[][] = [];
    for (let i = 0; i < rows.length; i += 4) groups.push(rows.slice(i, i + 4)); // written group by group
    let keptHere = 0;
    let droppedHere = 0;
    for (const g of groups) {
      expect(g.map((r) => r.sample)).toEqual([0, 1, 2, 3]);
      expect(new Set(g.map((r) => r.id)).size).toBe(1);
      const mixed = new Set(g.map((r) => r.hybrid)).size > 1;
      if (g[0]!.kept) {
        keptHere++;
        expect(mixed).toBe(true);
        expect(g.every((r) => Number.isFinite(r.advantage))).toBe(true);
      } else {
        droppedHere++;
        if (mixed) expect(keptHere).toBe(l.groups_kept as number); // a mixed group is left out only past the batch's target
      }
    }
    expect(keptHere).toBe(l.groups_kept as number);
    dropped += droppedHere;
    if ((l.groups_kept as number) < 2) expect(l.rounds).toBe(2);
  }
  expect(dropped).toBeGreaterThan(0);
  expect(rl.some((l) => (l.groups_dropped as number) > 0)).toBe(true);

  // Retrospective: none in phase 1; in phase 2, phase-1 prompts (<= 110 tokens) come back.
  for (const l of rl.filter((x) => x.phase === 1)) expect(l.retro_share).toBe(0);
  const phase2 = rl.filter((l) => l.phase === 2);
  expect(phase2.every((l) => (l.retro_pool as number) > 0)).toBe(true);
  const retroRows = phase2.flatMap((l) => rollouts(dir, l.step as number)).filter((r) => r.from_retro);
  expect(retroRows.length).toBeGreaterThan(0);
  for (const r of retroRows) expect(r.prompt_tokens as number).toBeLessThanOrEqual(110);
  for (const r of phase2.flatMap((l) => rollouts(dir, l.step as number)).filter((r) => !r.from_retro)) expect(r.prompt_tokens as number).toBeGreaterThan(110);

  // The final checkpoint: done, with the difficulty memory, and the reference model beside the policy.
  const ckpt = latestCheckpoint(dir)!;
  const state = JSON.parse(readFileSync(join(ckpt, "trainer_state.json"), "utf8"));
  expect(state.stage).toBe("done");
  expect(state.rl.memory.entries.length).toBeGreaterThan(0);
  expect(existsSync(join(ckpt, "reference.safetensors"))).toBe(true);
  const { params } = await loadCheckpoint(gpu, ckpt);
  releaseParams(gpu, params);
});

test("RL --stop-after (mid phase 1 and mid phase 2) then --resume gives the uninterrupted run's metrics", async () => {
  const gpu = await testGpu();
  const dir = join(root, "resumed");
  expect(await runTrain(gpu, cfg, dir, { ...opts, stopAfter: 3 })).toBe(130);
  expect(JSON.parse(readFileSync(join(latestCheckpoint(dir)!, "trainer_state.json"), "utf8")).stage).toBe("rl");
  const again = loadRunConfig({ file: join(dir, "config.yaml") });
  expect(await runTrain(gpu, again, dir, { ...opts, resume: true, stopAfter: 6 })).toBe(130);
  expect(await runTrain(gpu, again, dir, { ...opts, resume: true })).toBe(0);
  expect(runMetrics(dir)).toEqual(runMetrics(join(root, "full")));
});

test("micro-batch size does not change an update (token-level mean over the mini-batch)", async () => {
  const gpu = await testGpu();
  const one = (micro: number) => loadRunConfig({ text: YAML, sets: [`rl.microBatchSize=${micro}`, "rl.miniBatchSize=2", "sft.enable=false", "rl.klCoef=0", "curriculum.phases.0.steps=1", "curriculum.phases.1.steps=0"] });
  const lines: Line[] = [];
  for (const micro of [8, 2, 1]) {
    const dir = join(root, `micro-${micro}`);
    expect(await runTrain(gpu, one(micro), dir, opts)).toBe(0);
    lines.push(runMetrics(dir).find((l) => l.stage === "rl")!);
  }
  expect(lines[0]!.groups_kept as number).toBeGreaterThan(0);
  for (const l of lines.slice(1)) {
    for (const k of ["loss", "pg_loss", "entropy", "grad_norm"]) expect(l[k] as number).toBeCloseTo(lines[0]![k] as number, 4);
  }
});

test("rl.updatesPerBatch 2 with a KL reference: the second pass reuses the first's reference log-probs, with the metrics of recomputing them", async () => {
  const gpu = await testGpu();
  // Two mini-batches of one group a step, each two micro-batches of 2 sequences: the cache is per mini-batch and micro-batch.
  const two = loadRunConfig({ text: YAML, sets: ["rl.updatesPerBatch=2", "sft.enable=false", "curriculum.phases.0.steps=2", "curriculum.phases.1.steps=0"] });
  const runs: Line[][] = [];
  for (const cached of [true, false]) {
    referenceCache.enabled = cached;
    const dir = join(root, `ref-cache-${cached}`);
    try {
      expect(await runTrain(gpu, two, dir, opts)).toBe(0);
    } finally {
      referenceCache.enabled = true;
    }
    runs.push(runMetrics(dir).filter((l) => l.stage === "rl"));
  }
  const [cached, recomputed] = runs as [Line[], Line[]];
  expect(cached.some((l) => (l.updates as number) >= 4 && (l.kl as number) > 0)).toBe(true); // a second pass with a moved policy
  expect(cached).toEqual(recomputed); // runMetrics leaves out the timings
});

test("scaleShortBatch: a mini-batch short of groups gets the gradient scaled by groups / miniBatchSize; the metrics do not change", async () => {
  const gpu = await testGpu();
  const one = (scale: boolean) => loadRunConfig({
    text: YAML,
    sets: ["rl.batchSize=4", "rl.miniBatchSize=4", "rl.dynamicSampling.maxRounds=1", `rl.dynamicSampling.scaleShortBatch=${scale}`,
      "sft.enable=false", "rl.klCoef=0", "curriculum.phases.0.steps=1", "curriculum.phases.1.steps=0"],
  });
  const lines: Line[] = [];
  for (const scale of [false, true]) {
    const dir = join(root, `short-${scale}`);
    expect(await runTrain(gpu, one(scale), dir, opts)).toBe(0);
    lines.push(runMetrics(dir).find((l) => l.stage === "rl")!);
  }
  const [off, on] = lines as [Line, Line];
  const kept = off.groups_kept as number;
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThan(4); // a short batch, or this test shows nothing
  expect(on.groups_kept).toBe(kept);
  expect(on.grad_norm as number).toBeCloseTo(((off.grad_norm as number) * kept) / 4, 5);
  for (const k of ["loss", "pg_loss", "entropy", "clip_frac"]) expect(on[k] as number).toBeCloseTo(off[k] as number, 6);
});

test("a judge endpoint that is down does not stop RL: the rule score stands, failures are counted", async () => {
  const gpu = await testGpu();
  const down = loadRunConfig({
    text: YAML,
    sets: ["sft.enable=false", "rl.klCoef=0", "curriculum.phases.0.steps=1", "curriculum.phases.1.steps=1",
      "reward.judge.backend=openai", "reward.judge.baseUrl=http://127.0.0.1:9", "reward.judge.model=judge",
      "reward.judge.timeoutMs=300", "reward.judge.maxRetries=0", "reward.judge.cacheDir="],
  });
  // Every response becomes a (wrong) formatted answer, so the rule says 0 and the judge is asked.
  const formatted: typeof computeRewards = (items, o, judge) =>
    computeRewards(items.map((it) => ({ ...it, response: `</think>\nTherefore, the answer is Nobody ${fnv1a(it.response) % 97}.` })), o, judge);
  const dir = join(root, "judge-down");
  expect(await runTrain(gpu, down, dir, { ...opts, scoreRollouts: formatted })).toBe(0);
  const rl = runMetrics(dir).filter((l) => l.stage === "rl");
  expect(rl.length).toBe(2);
  for (const l of rl) {
    expect(l.judge_asked as number).toBeGreaterThan(0);
    expect(l.judge_failures).toBe(l.judge_asked);
    expect(l.hybrid_mean).toBe(0);
  }
});

test("a phase of 0 steps is skipped: no steps, no eval after it; the next phase runs and is evaluated; without SFT the first eval is 'before RL'", async () => {
  const gpu = await testGpu();
  const skip = loadRunConfig({
    text: YAML,
    sets: ["sft.enable=false", "rl.klCoef=0", "curriculum.phases.0.steps=0", "curriculum.phases.1.steps=1",
      "eval.enable=true", "eval.atStart=true", "eval.atStartMaxItems=1", "eval.maxItems=2", "eval.samplesPerItem=1", "eval.kValues=[1]", "eval.maxResponseTokens=4"],
  });
  const dir = join(root, "skip-phase");
  expect(await runTrain(gpu, skip, dir, opts)).toBe(0);
  expect(runMetrics(dir).filter((l) => l.stage === "rl").map((l) => l.phase)).toEqual([2]);
  expect(existsSync(join(dir, "eval", "before-rl.json"))).toBe(true);
  expect(existsSync(join(dir, "eval", "before-sft.json"))).toBe(false);
  expect(existsSync(join(dir, "eval", "after-phase-1.json"))).toBe(false);
  expect(existsSync(join(dir, "eval", "after-phase-2.json"))).toBe(true);
  // eval.atStartMaxItems: the starting model on the first item, the trained one on both.
  const ids = (label: string) => readFileSync(join(dir, "eval", `${label}.jsonl`), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as Line).id);
  expect(ids("after-phase-2")).toHaveLength(2);
  expect(ids("before-rl")).toEqual(ids("after-phase-2").slice(0, 1));
});

test("eval.rlInterval: evals within each phase (not at its last step), each once across a resume, a step table and plot; training unchanged", async () => {
  const gpu = await testGpu();
  const withEvals = loadRunConfig({
    text: YAML,
    sets: ["eval.enable=true", "eval.rlInterval=1", "eval.maxItems=1", "eval.samplesPerItem=1", "eval.kValues=[1]", "eval.maxResponseTokens=4", "eval.lengthBuckets=[100, 200]"],
  });
  const dir = join(root, "mid-evals");
  expect(await runTrain(gpu, withEvals, dir, { ...opts, stopAfter: 3 })).toBe(130); // stops right after the eval at step 3
  const again = loadRunConfig({ file: join(dir, "config.yaml") });
  expect(await runTrain(gpu, again, dir, { ...opts, resume: true, stopAfter: 5 })).toBe(130);
  expect(await runTrain(gpu, again, dir, { ...opts, resume: true })).toBe(0);
  // Phase 1 is steps 3-4, phase 2 steps 5-7: mid-phase evals at 3, 5 and 6; the phase ends keep their own.
  const state = JSON.parse(readFileSync(join(latestCheckpoint(dir)!, "trainer_state.json"), "utf8")) as { evals: string[] };
  expect(state.evals).toEqual(["before SFT", "after SFT", "rl step 3", "after phase 1", "rl step 5", "rl step 6", "after phase 2"]);
  const steps = state.evals.map((l) => (JSON.parse(readFileSync(join(dir, "eval", `${evalSlug(l)}.json`), "utf8")) as { step: number }).step);
  expect(steps).toEqual([0, 2, 3, 4, 5, 6, 7]);
  // Evals sample from their own seed: the training metrics equal the run without any eval.
  expect(runMetrics(dir)).toEqual(runMetrics(join(root, "full")));
  const md = readFileSync(join(dir, "summary.md"), "utf8");
  expect(md).toContain("### by step");
  expect(md.match(/^\| (\d+) \| [a-zA-Z0-9 ]+ \|/gm)?.map((l) => Number(l.split(" ")[1]))).toEqual([0, 2, 3, 4, 5, 6, 7]);
  expect(md).not.toContain("### rl step"); // the mid-phase evals are rows of the step table, not tables of their own
  const html = readFileSync(join(dir, "report.html"), "utf8");
  expect(html).toContain(`aria-label="held-out hybrid accuracy"`);
  expect(html).toContain("<h3>by step</h3>");
});

test("curriculum.phases.k.lr / klCoef: a phase trains at its own lr and KL coefficient; lr 0 leaves the weights as they were", async () => {
  const gpu = await testGpu();
  // rl.klCoef 0: the reference comes from phase 2's klCoef alone.
  const run = async (name: string, firstKl: number) => {
    const c = loadRunConfig({
      text: YAML,
      sets: ["sft.enable=false", "rl.klCoef=0", "curriculum.phases.0.steps=2", "curriculum.phases.0.lr=5e-4", `curriculum.phases.0.klCoef=${firstKl}`,
        "curriculum.phases.1.steps=1", "curriculum.phases.1.lr=0", "curriculum.phases.1.klCoef=0.03"],
    });
    const dir = join(root, name);
    expect(await runTrain(gpu, c, dir, opts)).toBe(0);
    const weights = (step: number) => readFileSync(join(dir, "checkpoints", `step-${step}`, "model.safetensors"));
    return { rl: runMetrics(dir).filter((l) => l.stage === "rl"), weights, dir };
  };
  const a = await run("phase-kl0", 0);
  expect(a.rl.map((l) => [l.phase, l.lr, l.kl_coef])).toEqual([[1, 5e-4, 0], [1, 5e-4, 0], [2, 0, 0.03]]);
  expect(existsSync(join(latestCheckpoint(a.dir)!, "reference.safetensors"))).toBe(true);
  const last = a.rl[2]!;
  expect(last.groups_kept as number).toBeGreaterThan(0); // a phase that computed gradients...
  expect(last.grad_norm as number).toBeGreaterThan(0);
  expect(a.weights(3).equals(a.weights(2))).toBe(true); // ...and applied none
  // The loss carries the phase's coefficient: loss = pg_loss - entropyCoef * entropy + klCoef * kl.
  const n = (k: string) => last[k] as number;
  expect(n("kl")).toBeGreaterThan(0);
  expect(n("loss")).toBeCloseTo(n("pg_loss") - 0.001 * n("entropy") + 0.03 * n("kl"), 5);
  // The phase's klCoef reaches the gradient: the same phase 1 with klCoef 0.01 ends elsewhere.
  const b = await run("phase-kl1", 0.01);
  expect(b.rl[0]!.kl_coef).toBe(0.01);
  expect(b.weights(2).equals(a.weights(2))).toBe(false);
});
