// Host half of shaders/embedding.wgsl: the token-embedding gather and its deterministic
// scatter-add backward (positions sorted by token id on the host, then a segmented sum on the GPU).
// Letters: N tokens, V vocab, C channels. W (and dW) larger than one storage binding (Qwen2's
// 151,936 × 1536 table is 933 MB; lavapipe binds at most 128 MiB) are bound in row ranges, one
// dispatch per range.
import { type Gpu, maxBindingBytes } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, releaseTensor, shapeString, tensorFrom } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/embedding.wgsl" with { type: "text" };

const EMBEDDING = shader("shaders/embedding.wgsl", source);

export interface EmbeddingOptions {
  /** Largest byte size bound at once (default: the adapter's maxStorageBufferBindingSize).
   *  Tests lower it to exercise the split path at small sizes. */
  bindingLimit?: number;
  /** Kernel shape (default by adapter): "cpu" copies a whole row per invocation and uses
   *  8-invocation workgroups (lavapipe pays per invocation); "gpu" gives a row 64 lanes. */
  variant?: "cpu" | "gpu";
}

/** Invocations per workgroup (WG) and lanes per row of the forward (LPR): see shaders/embedding.wgsl. */
function shape(gpu: Gpu, opts: EmbeddingOptions): { WG: number; LPR: number } {
  const cpu = (opts.variant ?? (gpu.isSoftware ? "cpu" : "gpu")) === "cpu";
  return cpu ? { WG: 8, LPR: 1 } : { WG: 64, LPR: 64 };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Row ranges [v0, v1) of a [V, C] table, each within one binding and starting at an aligned offset. */
export function vocabRanges(gpu: Gpu, op: string, V: number, C: number, bindingLimit?: number): [number, number][] {
  const rowBytes = C * 4;
  const limit = bindingLimit ?? maxBindingBytes(gpu);
  const align = gpu.limits.minStorageBufferOffsetAlignment ?? 256;
  const step = Math.max(16, align) / gcd(rowBytes, Math.max(16, align)); // rows per aligned offset
  const rows = Math.floor(Math.floor(limit / rowBytes) / step) * step;
  if (rows < 1) throw runError(`${op}: one row of ${C} channels (${rowBytes} bytes) does not fit a ${limit}-byte binding`);
  const out: [number, number][] = [];
  for (let v0 = 0; v0 < V || out.length === 0; v0 += rows) out.push([v0, Math.min(V, v0 + rows)]);
  return out;
}

/** Binding of rows [v0, v1) of a [V, C] table (with C % 4 == 0 also a whole number of vec4s). */
function rowRange(t: Tensor, C: number, v0: number, v1: number) {
  return { tensor: t, offset: v0 * C * 4, size: Math.max(4, (v1 - v0) * C * 4) };
}

/** The vec4 view of a range when V4, else a 16-byte stand-in (the entry's layout has the slot either way). */
function vec4Range(t: Tensor, C: number, v0: number, v1: number, v4: boolean) {
  return v4 ? rowRange(t, C, v0, v1) : { tensor: t, offset: 0, size: 16 };
}

/**
 * out[..., :] = W[ids[...], :]. ids: u32 [...] (e.g. [N] or [B, T]); w: [V, C]; out: [...ids, C].
 * An id >= V gives a row of zeros.
 */
export function embeddingForward(gpu: Gpu, ids: Tensor, w: Tensor, out: Tensor, opts: EmbeddingOptions = {}): void {
  const desc = `ids ${shapeString(ids.shape)}, W ${shapeString(w.shape)}, out ${shapeString(out.shape)}`;
  if (w.shape.length !== 2) throw runError(`embeddingForward: W must be [V, C] (${desc})`);
  const [V, C] = w.shape as [number, number];
  const want = [...ids.shape, C];
  if (out.shape.length !== want.length || out.shape.some((d, i) => d !== want[i])) {
    throw runError(`embeddingForward: shapes do not match (${desc}): need out ${shapeString(want)}`);
  }
  if (ids.dtype !== "u32" || w.dtype !== "f32" || out.dtype !== "f32") throw runError(`embeddingForward: ids must be u32, W and out f32 (${desc})`);
  const N = ids.size;
  const v4 = C % 4 === 0;
  const { WG, LPR } = shape(gpu, opts);
  for (const [v0, v1] of vocabRanges(gpu, "embeddingForward", V, C, opts.bindingLimit)) {
    dispatch(gpu, {
      op: "embeddingForward",
      shader: EMBEDDING,
      entry: "embedding_forward",
      constants: { WG, LPR, V4: v4 },
      params: packParams([N, C, v0, v1, V, 0, 0, 0, 0, 0]),
      bindings: [ids, rowRange(w, C, v0, v1), vec4Range(w, C, v0, v1, v4), out],
      workgroups: Math.ceil(N / (WG / LPR)),
    });
  }
}

/**
 * The backward plan: token positions sorted by id (ties by position), grouped into one segment per
 * distinct id. Returns plan = [segStart (S + 1), segToken (S), order (N)] as one u32 array.
 */
export function embeddingPlan(ids: ArrayLike<number>): { plan: Uint32Array; segments: number; tokens: Uint32Array } {
  const N = ids.length;
  // One float64 key per position: id·N + position sorts by id, then by position (exact below 2^53).
  const keys = new Float64Array(N);
  for (let t = 0; t < N; t++) keys[t] = ids[t]! * N + t;
  keys.sort();
  const order = new Uint32Array(N);
  const starts: number[] = [];
  const tokens: number[] = [];
  for (let k = 0; k < N; k++) {
    const id = Math.floor(keys[k]! / N);
    order[k] = keys[k]! - id * N;
    if (k === 0 || id !== tokens[tokens.length - 1]) {
      starts.push(k);
      tokens.push(id);
    }
  }
  const S = tokens.length;
  const plan = new Uint32Array(2 * S + 1 + N);
  plan.set(starts, 0);
  plan[S] = N;
  plan.set(tokens, S + 1);
  plan.set(order, 2 * S + 1);
  return { plan, segments: S, tokens: Uint32Array.from(tokens) };
}

/**
 * dW[v, :] += sum of dout[t, :] over the positions t with ids[t] == v. It accumulates (gradient
 * accumulation; a tied lm_head adds its own part with a matmul): zero dW first for a fresh
 * gradient. ids: the host copy of the token ids [N] (the batch builder has them); dout: [..., C]
 * with N rows; dw: [V, C]. Deterministic: each row's sum runs in ascending position order.
 */
export function embeddingBackward(gpu: Gpu, ids: Uint32Array, dout: Tensor, dw: Tensor, opts: EmbeddingOptions = {}): void {
  const desc = `ids [${ids.length}], dout ${shapeString(dout.shape)}, dW ${shapeString(dw.shape)}`;
  if (dw.shape.length !== 2) throw runError(`embeddingBackward: dW must be [V, C] (${desc})`);
  const [V, C] = dw.shape as [number, number];
  const N = ids.length;
  if (dout.shape[dout.shape.length - 1] !== C || dout.size !== N * C) {
    throw runError(`embeddingBackward: shapes do not match (${desc}): need dout [${N}, ${C}]`);
  }
  if (dout.dtype !== "f32" || dw.dtype !== "f32") throw runError(`embeddingBackward: dout and dW must be f32 (${desc})`);
  for (let t = 0; t < N; t++) {
    if (ids[t]! >= V) throw runError(`embeddingBackward: ids[${t}] = ${ids[t]} is outside the vocabulary of ${V} (${desc})`);
  }
  const ranges = vocabRanges(gpu, "embeddingBackward", V, C, opts.bindingLimit);
  if (N === 0) return;
  const { plan, segments: S, tokens } = embeddingPlan(ids);
  const planT = tensorFrom(gpu, plan, [plan.length], "u32", "embedding.plan"); // [S + 1 + S + N]
  const { WG: wg, LPR } = shape(gpu, opts);
  const v4 = C % 4 === 0;
  const pass = v4 ? 16 * wg : 4 * wg; // columns per pass of a workgroup (see the shader)
  const cb = LPR === 1 ? Math.ceil(C / pass) * pass : pass; // CPU: all columns in one workgroup
  const nCb = Math.ceil(C / cb);
  let s0 = 0;
  for (const [v0, v1] of ranges) {
    let s1 = s0;
    while (s1 < S && tokens[s1]! < v1) s1++;
    if (s1 > s0) {
      dispatch(gpu, {
        op: "embeddingBackward",
        shader: EMBEDDING,
        entry: "embedding_backward",
        constants: { WG: wg, V4: v4 },
        params: packParams([N, C, v0, v1, V, S, s0, s1 - s0, nCb, cb]),
        bindings: [planT, dout, v4 ? dout : { tensor: dout, offset: 0, size: 16 }, rowRange(dw, C, v0, v1)],
        workgroups: (s1 - s0) * nCb,
      });
    }
    s0 = s1;
  }
  releaseTensor(gpu, planT);
}
