// SFT warm-up (design.md §5): masked next-token loss on the gold response (reasoning, answer
// sentence, end of turn), prompt tokens masked; mean over the step's response tokens; gradient
// accumulation over micro-batches sorted by length (less padding); AdamW with linear warmup and
// cosine decay. Data order: a seeded shuffle per epoch, resumable from (epoch, position).
import { readScalar, readTensor, releaseTensor, tensorFrom } from "../gpu/index.ts";
import { adamwStep } from "../kernels/optimizer.ts";
import { packGroups } from "../model/batch.ts";
import { modelBackward, modelForward, releaseBatch, uploadBatch } from "../model/forward.ts";
import { runError } from "../util/errors.ts";
import { createRng } from "../util/rng.ts";
import type { Example } from "./data.ts";
import { type Session, logMetrics, lrAt, newOptimizer, saveRunCheckpoint, shouldStop, zeroGrads } from "./session.ts";

export interface SftCursor {
  epoch: number;
  pos: number;
  /** Examples left out (prompt over data.sftMaxPromptTokens or sequence over sft.maxTokens). */
  skipped: number;
}

/** Examples SFT trains on: short prompts (short-context SFT) whose whole sequence fits sft.maxTokens. */
export function sftExamples(s: Session): { examples: Example[]; skipped: number } {
  const { sftMaxPromptTokens } = s.cfg.data;
  const examples = s.data.train.filter((e) => e.promptIds.length <= sftMaxPromptTokens && e.promptIds.length + e.goldIds.length <= s.cfg.sft.maxTokens);
  if (examples.length === 0) {
    throw runError(`sft: no training record has a prompt of at most data.sftMaxPromptTokens ${sftMaxPromptTokens} tokens and a sequence of at most sft.maxTokens ${s.cfg.sft.maxTokens}; raise them or use shorter data`);
  }
  return { examples, skipped: s.data.train.length - examples.length };
}

/** The next `n` examples in the epoch-shuffled order, advancing the cursor. */
function draw(examples: Example[], cursor: SftCursor, n: number, seed: number): Example[] {
  const out: Example[] = [];
  let order = createRng(seed, 1000 + cursor.epoch).shuffle(examples.map((_, i) => i));
  while (out.length < n) {
    if (cursor.pos >= order.length) {
      cursor.epoch++;
      cursor.pos = 0;
      order = createRng(seed, 1000 + cursor.epoch).shuffle(examples.map((_, i) => i));
    }
    out.push(examples[order[cursor.pos++]!]!);
  }
  return out;
}

/** Forward + backward of a micro-batch of gold sequences; returns Σ log p over its response tokens. */
async function microStep(s: Session, batch: Example[], scale: number): Promise<number> {
  const { gpu, model, params, grads } = s;
  const packed = packGroups(batch.map((e) => ({ prompt: e.promptIds, responses: [e.goldIds] })));
  const dev = uploadBatch(gpu, model, packed);
  const res = modelForward(gpu, model, params, dev, { train: true, recompute: s.cfg.model.recompute });
  const M = packed.targets.length;
  const dlogp = tensorFrom(gpu, new Float32Array(M).fill(-scale), [M]);
  modelBackward(gpu, model, params, grads, res, { dlogp });
  const logp = (await readTensor(gpu, res.logp)) as Float32Array;
  for (const t of [dlogp, res.logp, res.entropy]) releaseTensor(gpu, t);
  releaseBatch(gpu, dev);
  let sum = 0;
  for (const x of logp) sum += x;
  return sum;
}

/** Runs SFT to sft.steps (from the session's state when resumed); returns false if stopped early. */
export async function runSft(s: Session, onStep?: (step: number, fields: Record<string, number>) => void): Promise<boolean> {
  const o = s.cfg.sft;
  const { examples, skipped } = sftExamples(s);
  const st = s.state;
  const cursor = (st.sft as SftCursor | undefined) ?? { epoch: 0, pos: 0, skipped };
  st.sft = cursor;
  if (!s.optim) newOptimizer(s, o);
  while (st.stageStep < o.steps) {
    const t0 = performance.now();
    const batch = draw(examples, cursor, o.batchSize, s.cfg.seed).sort((a, b) => a.promptIds.length + a.goldIds.length - (b.promptIds.length + b.goldIds.length));
    const tokens = batch.reduce((n, e) => n + e.goldIds.length, 0);
    zeroGrads(s);
    let sumLogp = 0;
    for (let i = 0; i < batch.length; i += o.microBatchSize) sumLogp += await microStep(s, batch.slice(i, i + o.microBatchSize), 1 / tokens);
    const lr = lrAt(st.stageStep, o, o.steps);
    adamwStep(s.gpu, s.optim!, { step: ++st.optimStep, lr });
    const gradNorm = await readScalar(s.gpu, s.optim!.clip, 0);
    st.stageStep++;
    st.globalStep++;
    const seconds = (performance.now() - t0) / 1000;
    const seqTokens = batch.reduce((n, e) => n + e.promptIds.length + e.goldIds.length, 0);
    const fields = { loss: -sumLogp / tokens, lr, grad_norm: gradNorm, response_tokens: tokens, tokens_per_s: seqTokens / seconds, seconds };
    logMetrics(s, { stage: "sft", phase: null, step: st.globalStep, stage_step: st.stageStep, epoch: cursor.epoch, ...fields });
    onStep?.(st.stageStep, fields);
    const interval = s.cfg.checkpoint.interval;
    const stop = shouldStop(s);
    if (st.stageStep === o.steps && !stop) break;
    if (stop || (interval > 0 && st.globalStep % interval === 0)) await saveRunCheckpoint(s);
    if (stop) return false;
  }
  return true;
}
