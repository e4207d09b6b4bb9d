// Host half of shaders/sampling.wgsl: one token per row of logits [B, V] with temperature,
// top-k and top-p, repeatable from (seed, step, row). Greedy when the temperature is 0.
// Letters: B rows (sequences), V vocab. The caller materializes the logits (B ≤ 64 rows of the
// last positions: h·Wᵀ with src/kernels/matmul.ts); this file does not project.
import type { Gpu } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, releaseTensor, shapeString, tensorFrom } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/sampling.wgsl" with { type: "text" };

const SAMPLING = shader("shaders/sampling.wgsl", source);

export interface SamplingOptions {
  /** 0 = greedy; otherwise logits are divided by it (default 1). */
  temperature?: number;
  /** Keep the k most likely ids (ties at the k-th value kept); 0 = off (default). */
  topK?: number;
  /** Keep the smallest set of most likely ids with mass ≥ topP (ties kept); 1 = off (default). */
  topP?: number;
  /** u32 seeds of the generator: row b of this call draws from (seed, step, rowOffset + b). */
  seed?: number;
  step?: number;
  rowOffset?: number;
  /** u32 [B]: row b draws as row rowIds[b] (default b), so a call over a subset of the rows draws what the full call would. */
  rowIds?: Tensor;
}

export interface SamplingOutputs {
  ids: Tensor; // [B] u32
  /** log-prob of the id under the distribution sampled (after top-k/top-p; 0 when greedy) [B] */
  logpSample: Tensor;
  /** log-prob of the id under softmax(logits/τ), the policy's (τ = 1 when greedy) [B] */
  logpPolicy: Tensor;
}

function isU32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/** Samples one id per row of logits [B, V] into out (see SamplingOutputs). */
export function sampleTokens(gpu: Gpu, logits: Tensor, out: SamplingOutputs, opts: SamplingOptions = {}): void {
  const temperature = opts.temperature ?? 1;
  const topK = opts.topK ?? 0;
  const topP = opts.topP ?? 1;
  const seed = opts.seed ?? 0;
  const step = opts.step ?? 0;
  const rowOffset = opts.rowOffset ?? 0;
  const desc = `logits ${shapeString(logits.shape)}, ids ${shapeString(out.ids.shape)}, logpSample ${shapeString(out.logpSample.shape)}, logpPolicy ${shapeString(out.logpPolicy.shape)}`;
  if (logits.shape.length !== 2 || logits.dtype !== "f32") throw runError(`sampleTokens: logits must be f32 [B, V] (${desc})`);
  const [B, V] = logits.shape as [number, number];
  if (out.ids.size !== B || out.logpSample.size !== B || out.logpPolicy.size !== B) {
    throw runError(`sampleTokens: shapes do not match (${desc}): need logits [B, V] and [B] outputs`);
  }
  if (out.ids.dtype !== "u32" || out.logpSample.dtype !== "f32" || out.logpPolicy.dtype !== "f32") {
    throw runError(`sampleTokens: ids must be u32 and the log-probs f32 (${desc})`);
  }
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw runError(`sampleTokens: temperature must be >= 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw runError(`sampleTokens: topK must be an integer >= 0 (0 = off), got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw runError(`sampleTokens: topP must be in (0, 1] (1 = off), got ${topP}`);
  for (const [name, v] of [["seed", seed], ["step", step], ["rowOffset", rowOffset]] as const) {
    if (!isU32(v)) throw runError(`sampleTokens: ${name} must be an integer in [0, 2^32), got ${v}`);
  }
  if (V === 0) throw runError(`sampleTokens: empty vocabulary (${desc})`);
  if (opts.rowIds && (opts.rowIds.size !== B || opts.rowIds.dtype !== "u32")) throw runError(`sampleTokens: rowIds must be u32 [B] (${desc}, rowIds ${shapeString(opts.rowIds.shape)})`);
  if (B === 0) return;
  const rowIds = opts.rowIds ?? tensorFrom(gpu, Uint32Array.from({ length: B }, (_, b) => b), [B], "u32", "sampleTokens.rowIds");
  dispatch(gpu, {
    op: "sampleTokens",
    shader: SAMPLING,
    entry: "sample_tokens",
    constants: { WG: gpu.isSoftware ? 64 : 256 },
    params: packParams([B, V, topK, seed, step, rowOffset], [temperature, topP]),
    bindings: [logits, out.ids, out.logpSample, out.logpPolicy, rowIds],
    workgroups: B,
  });
  if (!opts.rowIds) releaseTensor(gpu, rowIds);
}
