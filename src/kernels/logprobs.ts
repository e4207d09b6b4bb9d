// Host half of shaders/logprobs.wgsl: per-position log-prob of a target token and entropy of
// softmax(h·Wᵀ/τ), forward and backward, without ever holding the [N, V] logits: positions go in
// chunks and, when a chunk of whole rows would not fit the byte budget (or W not one binding),
// the vocabulary goes in blocks merged online. The projections are src/kernels/matmul.ts.
// Letters: N positions, C channels, V vocab; a chunk is `rows` positions, a block `cols` ids.
// Serves the SFT loss (dlogp = −1/count on answer tokens), the policy loss and the entropy bonus.
import { type Gpu, maxBindingBytes } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, copyRows, createTensor, prefixView as view, releaseTensor, shapeString } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import { matmul } from "./matmul.ts";
import source from "../../shaders/logprobs.wgsl" with { type: "text" };

const LOGPROBS = shader("shaders/logprobs.wgsl", source);
/** Target id of a position that has no target (prompt tokens, padding): logp 0, no gradient. */
export const MASKED_TARGET = 0xffffffff;
/** Default bytes for one chunk's logits buffer. */
export const LOGITS_BUDGET = 64 * 1024 * 1024;
/** Fewest positions per chunk before the vocabulary is split instead (matmul efficiency). */
const MIN_ROWS = 16;
const BCOLS = 2048; // columns per workgroup of logprobs_backward (shader constant)

export interface LogprobsOptions {
  /** Logits are divided by it (> 0; default 1). */
  temperature?: number;
  /** Bytes for one chunk's logits (default LOGITS_BUDGET; capped at one storage binding). */
  budgetBytes?: number;
}

export interface LogprobsOutputs {
  logp: Tensor; // [N]
  entropy: Tensor; // [N]
  /** log Σ exp(logits) per position [N]: keep it for the backward. */
  lse: Tensor;
}

export interface LogprobsGrads {
  /** d loss / d logp [N]; absent = 0. */
  dlogp?: Tensor;
  /** d loss / d entropy [N]; absent = 0. */
  dentropy?: Tensor;
}

export interface LogprobsBackwardOptions extends LogprobsOptions {
  /** dh += … instead of dh = … (dW is always accumulated). */
  accumulate?: boolean;
}

/** How the work is cut: `rows` positions per chunk, `cols` vocab ids per block. */
export interface LogprobsPlan {
  rows: number;
  cols: number;
  chunks: number;
  blocks: number;
}

/**
 * Whole rows of V when a chunk of at least MIN_ROWS positions fits the budget (and W fits one
 * binding); otherwise MIN_ROWS positions and vocab blocks of a multiple of 8. Chunks and blocks
 * are balanced (near-equal sizes; only the last is shorter).
 */
export function logprobsPlan(gpu: Gpu, N: number, C: number, V: number, budgetBytes = LOGITS_BUDGET): LogprobsPlan {
  const maxBinding = maxBindingBytes(gpu);
  const budget = Math.floor(Math.min(budgetBytes, maxBinding) / 4); // floats of logits per chunk
  const maxLines = Math.floor(maxBinding / (4 * C)); // rows of h/dh, or of W/dW, in one binding
  if (maxLines < 1 || budget < 1) throw runError(`logprobs: C = ${C} or budget ${budgetBytes} bytes leaves no room for one row`);
  let cap = Math.min(V, maxLines);
  let rows = Math.min(N, maxLines, Math.floor(budget / cap));
  if (rows < Math.min(N, MIN_ROWS)) {
    rows = Math.min(N, MIN_ROWS, maxLines);
    cap = Math.min(cap, Math.floor(budget / rows));
  }
  if (cap < V && cap >= 8) cap -= cap % 8; // vec4-friendly block widths for the matmuls
  if (rows < 1 || cap < 1) throw runError(`logprobs: budget ${budgetBytes} bytes is too small for one logit`);
  const chunks = Math.ceil(N / rows);
  rows = Math.ceil(N / chunks);
  let blocks = Math.ceil(V / cap);
  let cols = Math.ceil(V / blocks);
  if (blocks > 1) cols = Math.min(cap, Math.ceil(cols / 8) * 8);
  blocks = Math.ceil(V / cols);
  return { rows, cols, chunks, blocks };
}

interface Dims {
  N: number;
  C: number;
  V: number;
}

/** Checks h [..., C] (N = positions), w [V, C], targets u32 [N]; throws before any dispatch. */
function checkInputs(op: string, h: Tensor, w: Tensor, targets: Tensor, temperature: number): Dims {
  const C = h.shape[h.shape.length - 1] ?? 0;
  const desc = `h ${shapeString(h.shape)}, w ${shapeString(w.shape)}, targets ${shapeString(targets.shape)}`;
  if (w.shape.length !== 2 || C === 0 || w.shape[1] !== C) throw runError(`${op}: shapes do not match (${desc}): need h [N, C], w [V, C], targets [N]`);
  const N = h.size / C;
  if (targets.size !== N) throw runError(`${op}: shapes do not match (${desc}): need h [N, C], w [V, C], targets [N]`);
  if (h.dtype !== "f32" || w.dtype !== "f32" || targets.dtype !== "u32") throw runError(`${op}: h and w must be f32, targets u32 (${desc})`);
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw runError(`${op}: temperature must be > 0, got ${temperature}`);
  return { N, C, V: w.shape[0]! };
}

function checkPerPosition(op: string, N: number, named: Record<string, Tensor | undefined>): void {
  for (const [name, t] of Object.entries(named)) {
    if (t && (t.size !== N || t.dtype !== "f32")) throw runError(`${op}: ${name} ${shapeString(t.shape)} (${t.dtype}) must be f32 with N = ${N} elements`);
  }
}

/**
 * logp[n] = log softmax(h[n]·Wᵀ/τ)[targets[n]], entropy[n] = −Σ p log p, lse[n] = log Σ exp(logits).
 * h [N, C] (or [B, T, C]), w [V, C] (Hugging Face lm_head.weight layout; tied models pass the
 * embedding), targets u32 [N] (MASKED_TARGET → logp 0; entropy still computed).
 */
export function logprobsForward(gpu: Gpu, h: Tensor, w: Tensor, targets: Tensor, out: LogprobsOutputs, opts: LogprobsOptions = {}): void {
  const temperature = opts.temperature ?? 1;
  const { N, C, V } = checkInputs("logprobs", h, w, targets, temperature);
  checkPerPosition("logprobs", N, { logp: out.logp, entropy: out.entropy, lse: out.lse });
  if (N === 0) return;
  const plan = logprobsPlan(gpu, N, C, V, opts.budgetBytes);
  const work = workspace(gpu, plan, C, false);
  const state = createTensor(gpu, [N, 4], "f32", "logprobs.state"); // [N, 4]: max, sum, Σe·(x−max), target logit
  forEachTile(gpu, plan, N, V, C, h, w, work, (tile) => {
    matmul(gpu, tile.h, tile.w, tile.logits, { transB: true, alpha: 1 / temperature });
    dispatch(gpu, {
      op: "logprobs",
      shader: LOGPROBS,
      entry: "logprobs_forward",
      constants: { WG: wgSize(gpu) },
      params: packParams([tile.rows, tile.cols, tile.v0, V, tile.n0, tile.block === 0 ? 1 : 0, tile.block === plan.blocks - 1 ? 1 : 0], [1]),
      bindings: [tile.logits, targets, state, out.logp, out.entropy, out.lse],
      workgroups: tile.rows,
    });
  });
  releaseWorkspace(gpu, work);
  releaseTensor(gpu, state);
}

/**
 * Gradients of loss = Σ dlogp·logp + Σ dentropy·entropy: dh [N, C] (= or += with accumulate) and
 * dW [V, C] (always +=, for gradient accumulation; tied models pass the embedding's gradient).
 * Recomputes the logits chunk by chunk; `saved` is the forward's lse and entropy (same τ).
 * Either of dh, dw may be undefined (not computed).
 */
export function logprobsBackward(
  gpu: Gpu, h: Tensor, w: Tensor, targets: Tensor, saved: { lse: Tensor; entropy: Tensor }, grads: LogprobsGrads,
  dh: Tensor | undefined, dw: Tensor | undefined, opts: LogprobsBackwardOptions = {},
): void {
  const temperature = opts.temperature ?? 1;
  const { N, C, V } = checkInputs("logprobsBackward", h, w, targets, temperature);
  checkPerPosition("logprobsBackward", N, { lse: saved.lse, entropy: saved.entropy, dlogp: grads.dlogp, dentropy: grads.dentropy });
  if (dh && (dh.size !== h.size || dh.dtype !== "f32")) throw runError(`logprobsBackward: dh ${shapeString(dh.shape)} does not match h ${shapeString(h.shape)}`);
  if (dw && (dw.size !== w.size || dw.dtype !== "f32")) throw runError(`logprobsBackward: dw ${shapeString(dw.shape)} does not match w ${shapeString(w.shape)}`);
  if (N === 0 || (!dh && !dw)) return;
  const plan = logprobsPlan(gpu, N, C, V, opts.budgetBytes);
  const work = workspace(gpu, plan, C, true);
  const unused = createTensor(gpu, [1], "f32", "logprobs.unused");
  const accumulate = opts.accumulate ?? false;
  forEachTile(gpu, plan, N, V, C, h, w, work, (tile) => {
    matmul(gpu, tile.h, tile.w, tile.logits, { transB: true, alpha: 1 / temperature });
    dispatch(gpu, {
      op: "logprobsBackward",
      shader: LOGPROBS,
      entry: "logprobs_backward",
      constants: { WG: wgSize(gpu), HAS_DLOGP: grads.dlogp !== undefined, HAS_DENT: grads.dentropy !== undefined },
      params: packParams([tile.rows, tile.cols, tile.v0, V, tile.n0, 0, 0], [1 / temperature]),
      bindings: [tile.logits, targets, saved.lse, saved.entropy, grads.dlogp ?? unused, grads.dentropy ?? unused],
      workgroups: tile.rows * Math.ceil(tile.cols / BCOLS),
    });
    // tile.logits now holds dz [rows, cols] (z = h·Wᵀ).
    if (dh) {
      // Earlier vocab blocks already wrote these rows of dh; so did the caller with accumulate.
      const add = accumulate || tile.block > 0;
      if (work.dh) {
        const dhc = view(work.dh, [tile.rows, C]);
        if (add) copyRows(gpu, dh, tile.n0, dhc, 0, tile.rows, C);
        matmul(gpu, tile.logits, tile.w, dhc, { beta: add ? 1 : 0 });
        copyRows(gpu, dhc, 0, dh, tile.n0, tile.rows, C);
      } else {
        matmul(gpu, tile.logits, tile.w, view(dh, [N, C]), { beta: add ? 1 : 0 });
      }
    }
    if (dw) {
      if (work.dw) {
        const dwb = view(work.dw, [tile.cols, C]);
        if (tile.chunk === 0) copyRows(gpu, dw, tile.v0, dwb, 0, tile.cols, C);
        matmul(gpu, tile.logits, tile.h, dwb, { transA: true, beta: 1 });
        if (tile.chunk === plan.chunks - 1) copyRows(gpu, dwb, 0, dw, tile.v0, tile.cols, C);
      } else {
        matmul(gpu, tile.logits, tile.h, view(dw, [V, C]), { transA: true, beta: 1 });
      }
    }
  });
  releaseWorkspace(gpu, work);
  releaseTensor(gpu, unused);
}

/** Lavapipe runs a workgroup on one thread: fewer lanes, fewer barrier steps. */
function wgSize(gpu: Gpu): number {
  return gpu.isSoftware ? 64 : 256;
}

/** Scratch tensors; h/w/dh/dw copies only exist when the plan cuts those tensors. */
interface Workspace {
  logits: Tensor; // [rows, cols]
  h?: Tensor; // [rows, C]: one chunk of h (chunks > 1)
  w?: Tensor; // [cols, C]: one block of W (blocks > 1)
  dh?: Tensor; // [rows, C]
  dw?: Tensor; // [cols, C]
}

function workspace(gpu: Gpu, plan: LogprobsPlan, C: number, backward: boolean): Workspace {
  const chunked = plan.chunks > 1;
  const blocked = plan.blocks > 1;
  return {
    logits: createTensor(gpu, [plan.rows, plan.cols], "f32", "logprobs.logits"),
    h: chunked ? createTensor(gpu, [plan.rows, C], "f32", "logprobs.h") : undefined,
    w: blocked ? createTensor(gpu, [plan.cols, C], "f32", "logprobs.w") : undefined,
    dh: chunked && backward ? createTensor(gpu, [plan.rows, C], "f32", "logprobs.dh") : undefined,
    dw: blocked && backward ? createTensor(gpu, [plan.cols, C], "f32", "logprobs.dw") : undefined,
  };
}

function releaseWorkspace(gpu: Gpu, work: Workspace): void {
  for (const t of [work.logits, work.h, work.w, work.dh, work.dw]) if (t) releaseTensor(gpu, t);
}

interface Tile {
  chunk: number;
  block: number;
  n0: number;
  rows: number;
  v0: number;
  cols: number;
  h: Tensor; // [rows, C]
  w: Tensor; // [cols, C]
  logits: Tensor; // [rows, cols]
}

/**
 * Visits every (vocab block, position chunk), blocks outside: each block of W is copied once,
 * and in the backward its dW rows stay in one scratch buffer across all chunks.
 */
function forEachTile(
  gpu: Gpu, plan: LogprobsPlan, N: number, V: number, C: number, h: Tensor, w: Tensor, work: Workspace, body: (t: Tile) => void,
): void {
  for (let block = 0; block < plan.blocks; block++) {
    const v0 = block * plan.cols;
    const cols = Math.min(plan.cols, V - v0);
    let wTile = w;
    if (work.w) {
      wTile = view(work.w, [cols, C]);
      copyRows(gpu, w, v0, wTile, 0, cols, C);
    }
    for (let chunk = 0; chunk < plan.chunks; chunk++) {
      const n0 = chunk * plan.rows;
      const rows = Math.min(plan.rows, N - n0);
      let hTile = view(h, [N, C]);
      if (work.h) {
        hTile = view(work.h, [rows, C]);
        copyRows(gpu, h, n0, hTile, 0, rows, C);
      }
      body({ chunk, block, n0, rows, v0, cols, h: hTile, w: wTile, logits: view(work.logits, [rows, cols]) });
    }
  }
}

