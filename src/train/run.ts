// `longrl train` end to end (design.md §1): eval before → SFT → eval → each RL phase → eval → report, every boundary a checkpoint, so `--resume RUN_DIR` continues from wherever the
// run stopped.
// Stages can also run alone (`longrl sft`, `longrl rl`). Ctrl-C: finish the step, save, exit 130.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { configToYaml } from "../config/load.ts";
import { type RunConfig, rlPhases } from "../config/schema.ts";
import type { Gpu } from "../gpu/index.ts";
import { releaseOptimizer } from "../kernels/optimizer.ts";
import { createJudge } from "../reward/backend.ts";
import { evalSlug, runEval } from "../eval/run.ts";
import { createProgress, formatRunSummary } from "./progress.ts";
import { type EvalResult, readMetrics, stageSummaries, writeReport } from "./report.ts";
import { nextPhase, rlPlan, runRlPhase } from "./rl.ts";
import { type Session, closeSession, openSession, saveRunCheckpoint, shouldStop } from "./session.ts";
import { runSft } from "./sft.ts";

export interface TrainOptions {
  /** Stages to run, in order: a subset of ["sft", "rl"] (eval runs where cfg.eval says). */
  stages: ("sft" | "rl")[];
  resume: boolean;
  quiet: boolean;
  device: string;
  /** Stop as Ctrl-C does once this global step is done (0 = never). */
  stopAfter?: number;
  /** Replaces the configured reward for RL rollouts (see Session.scoreRollouts). */
  scoreRollouts?: Session["scoreRollouts"];
}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), after its checkpoint is saved. */
export const INTERRUPTED = 130;

async function evaluate(s: Session, label: string, atStart = false): Promise<void> {
  if (!s.cfg.eval.enable || s.state.evals.includes(label)) return;
  // The starting model's eval covers the first eval.atStartMaxItems records when that is set (and smaller).
  const o = atStart && s.cfg.eval.atStartMaxItems > 0 ? { ...s.cfg.eval, maxItems: Math.min(s.cfg.eval.maxItems || Infinity, s.cfg.eval.atStartMaxItems) } : s.cfg.eval;
  const bar = createProgress({ label: `eval ${label}`, total: Math.min(s.data.eval.length, o.maxItems || Infinity), unit: "item", quiet: s.quietProgress });
  const table = await runEval({ gpu: s.gpu, cfg: s.cfg, model: s.model, params: s.params, data: s.data, judge: s.judge }, label, o, join(s.runDir, "eval"), (done) => bar.update(done), s.state.globalStep);
  bar.stop();
  const all = table.rows.find((r) => r.kind === "all");
  if (all) process.stderr.write(`eval ${label}: hybrid accuracy ${all.hybrid.toFixed(3)}, rule ${all.rule.toFixed(3)}, F1 ${all.f1.toFixed(3)}, pass@${table.ks.at(-1)} ${all.passAtK.at(-1)?.toFixed(3) ?? "-"}\n`);
  s.state.evals.push(label);
}

function loadEvals(s: Session): EvalResult[] {
  return s.state.evals
    .map((label) => join(s.runDir, "eval", `${evalSlug(label)}.json`))
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, "utf8")) as EvalResult);
}

/** Closes a stage: drop its optimizer (the next stage starts a fresh one, as verl's RL after SFT does). */
function endStage(s: Session, next: Session["state"]["stage"]): void {
  if (s.optim) releaseOptimizer(s.gpu, s.optim);
  s.optim = undefined;
  s.state.stage = next;
  s.state.stageStep = 0;
  s.state.optimStep = 0;
}

/** Runs a supervised stage (copy pretraining or SFT) under its progress bar; false if stopped early. */
async function supervised(s: Session, name: "pretrain" | "sft", quiet: boolean): Promise<boolean> {
  const bar = createProgress({ label: name, total: s.cfg[name].steps, start: s.state.stageStep, quiet });
  const done = await runSft(s, (step, f) => bar.update(step, { loss: f.loss!, "tok/s": Math.round(f.tokens_per_s!) }), name);
  bar.stop();
  return done;
}

/** Runs the configured recipe in runDir; returns the process exit code (0, or INTERRUPTED). */
export async function runTrain(gpu: Gpu, cfg: RunConfig, runDir: string, o: TrainOptions): Promise<number> {
  const s = await openSession(gpu, cfg, runDir, o.resume);
  try {
    s.judge = await createJudge(cfg.reward.judge, gpu);
  } catch (err) {
    closeSession(s);
    throw err;
  }
  s.quietProgress = o.quiet;
  s.stopAfter = o.stopAfter ?? 0;
  s.scoreRollouts = o.scoreRollouts;
  if (!o.resume || !existsSync(join(runDir, "config.yaml"))) writeFileSync(join(runDir, "config.yaml"), configToYaml(cfg));
  let interrupts = 0;
  const onSigint = () => {
    s.stopRequested = true;
    if (++interrupts > 1) process.exit(INTERRUPTED); // a second Ctrl-C does not wait for the checkpoint
    process.stderr.write("\nlongrl: stopping after this step; saving a checkpoint (Ctrl-C again to quit without it)\n");
  };
  process.on("SIGINT", onSigint);
  try {
    // The starting model's score: "before SFT", or "before RL" for a run without the SFT stage (longrl rl --model DIR).
    if (s.state.globalStep === 0 && cfg.eval.atStart) await evaluate(s, o.stages.includes("sft") && cfg.sft.enable ? "before SFT" : "before RL", true);
    if (s.state.stage === "pretrain") {
      if (o.stages.includes("sft") && cfg.pretrain.enable) {
        if (!(await supervised(s, "pretrain", o.quiet))) return INTERRUPTED;
        endStage(s, "sft");
        await saveRunCheckpoint(s);
      } else s.state.stage = "sft";
    }
    if (s.state.stage === "sft") {
      if (o.stages.includes("sft") && cfg.sft.enable) {
        if (!(await supervised(s, "sft", o.quiet))) return INTERRUPTED;
        if (cfg.eval.afterEachStage) await evaluate(s, "after SFT");
      }
      endStage(s, "rl");
      await saveRunCheckpoint(s);
    }
    if (s.state.stage === "rl" && cfg.rl.enable && o.stages.includes("rl")) {
      const plan = rlPlan(s);
      if (plan.excluded > 0 && s.state.phase === 0 && s.state.stageStep === 0) {
        process.stderr.write(`longrl: ${plan.excluded} training prompts are longer than the last phase's ${plan.bounds.at(-1)![1]} tokens; RL leaves them out\n`);
      }
      while (s.state.phase < plan.phases.length) {
        const k = s.state.phase;
        // A phase of 0 steps (an ablation that skips one) draws no bar and repeats no eval.
        if (plan.phases[k]!.steps > 0) {
          const label = plan.phases.length > 1 ? `rl phase ${k + 1}/${plan.phases.length}` : "rl";
          const bar = createProgress({ label, total: plan.phases[k]!.steps, start: s.state.stageStep, quiet: o.quiet });
          const done = await runRlPhase(s, plan, (step, f) => bar.update(step, { reward: f.reward_mean, acc: f.accuracy, "tok/s": Math.round(f.tokens_per_s) }), (label) => evaluate(s, label));
          bar.stop();
          if (!done) return INTERRUPTED;
          if (cfg.eval.afterEachStage) await evaluate(s, plan.phases.length > 1 ? `after phase ${k + 1}` : "after RL");
        }
        nextPhase(s);
        await saveRunCheckpoint(s);
        if (shouldStop(s)) return INTERRUPTED;
      }
    }
    if (s.state.stage === "rl" && (!cfg.rl.enable || s.state.phase >= rlPhases(cfg).length)) {
      endStage(s, "done");
      await saveRunCheckpoint(s);
    }
    const metrics = existsSync(join(runDir, "metrics.jsonl")) ? readMetrics(join(runDir, "metrics.jsonl")) : [];
    const evals = loadEvals(s);
    const wallSeconds = (performance.now() - s.started) / 1000;
    const files = writeReport(runDir, metrics, evals, { title: `longrl run ${runDir}`, device: o.device, wallSeconds, config: cfg as unknown as Record<string, unknown> });
    process.stderr.write(`${formatRunSummary({ wallSeconds, device: o.device, runDir, report: files.html, stages: stageSummaries(metrics), evals })}\n`);
    return 0;
  } finally {
    process.off("SIGINT", onSigint);
    if (s.stopRequested) process.stderr.write(`longrl: checkpoint saved in ${join(runDir, "checkpoints", `step-${s.state.globalStep}`)}; continue with --resume ${runDir}\n`);
    closeSession(s);
  }
}
