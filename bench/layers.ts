// `longrl bench kernels`, the per-layer kernels: embedding, RMSNorm, SwiGLU, RoPE, forward and
// backward, at Qwen2.5-0.5B sizes (T = 4096 tokens, C = 896, I = 4864, H = 14, D = 64,
// V = 151,936, so W spans several 128 MiB bindings on lavapipe). Each kernel is validated
// against its float64 twin first, then timed. These kernels are memory-bound: the rate is GB/s
// of the tensors each must read and write once; the baseline is the same kernel in its GPU shape
// (variant "gpu": a row per workgroup of 64 lanes), and the notes give the fraction of a buffer
// copy's rate (copyBufferToBuffer, measured in the same run).
import { type Gpu, type Tensor, copyTensor, createTensor, readTensor, releaseTensor, tensorFrom } from "../src/gpu/index.ts";
import { embeddingBackward, embeddingForward, embeddingPlan } from "../src/kernels/embedding.ts";
import { rmsnormBackward, rmsnormForward } from "../src/kernels/rmsnorm.ts";
import { swigluBackward, swigluForward } from "../src/kernels/swiglu.ts";
import { ropeBackward, ropeForward } from "../src/kernels/rope.ts";
import { embeddingBackwardRef, embeddingForwardRef } from "../src/ref/embedding.ts";
import { rmsnormBackwardRef, rmsnormForwardRef } from "../src/ref/rmsnorm.ts";
import { swigluBackwardRef, swigluForwardRef } from "../src/ref/swiglu.ts";
import { ropeForwardRef } from "../src/ref/rope.ts";
import { createRng, randomFloats } from "../src/util/rng.ts";
import { runError } from "../src/util/errors.ts";
import { timeGpu } from "./timing.ts";
import type { BenchRow } from "./types.ts";

const T = 4096;
const C = 896;
const I = 4864;
const H = 14;
const D = 64;
const V = 151936;
const THETA = 1e6;
/** The kernels' GPU shape (a row per workgroup of 64, or 64-invocation workgroups), as the baseline. */
const GPU = { variant: "gpu" } as const;

/** Throws unless |got − want| <= atol + rtol·|want| everywhere. */
function check(what: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): void {
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= atol + rtol * Math.abs(want[i]!))) throw runError(`bench layers: ${what} is wrong at [${i}]: gpu ${got[i]} ref ${want[i]}`);
  }
}

interface Timed {
  kernel: string;
  shape: string;
  bytes: number;
  ours: () => void;
  gpuVariant: () => void;
}

export async function benchLayers(gpu: Gpu): Promise<BenchRow[]> {
  const timed: Timed[] = [];
  const live: Tensor[] = [];
  const keep = (t: Tensor) => (live.push(t), t);

  // Embedding. Token ids skewed like text (many repeats of frequent ids): id = floor(V·u³).
  const rng = createRng(1, 9);
  const idv = Uint32Array.from({ length: T }, () => Math.floor(V * rng.next() ** 3));
  const wv = new Float32Array(V * C);
  for (let i = 0; i < wv.length; i++) wv[i] = ((Math.imul(i, 2654435761) >>> 0) % 2003) / 1001 - 1; // cheaper than an RNG at 136M values
  const ids = keep(tensorFrom(gpu, idv, [T], "u32"));
  const w = keep(tensorFrom(gpu, wv, [V, C])); // [V, C]
  const emb = keep(createTensor(gpu, [T, C])); // [T, C]
  embeddingForward(gpu, ids, w, emb);
  check("embeddingForward", await readTensor(gpu, emb), embeddingForwardRef(idv, wv, V, C), 0, 0);
  const dw = keep(createTensor(gpu, [V, C])); // [V, C]
  const dembv = randomFloats(T * C, 2);
  const demb = keep(tensorFrom(gpu, dembv, [T, C]));
  {
    // The twin on the used rows only (ids remapped to 0 .. S−1), against those rows of dW.
    const { tokens, segments: S } = embeddingPlan(idv);
    const index = new Map(Array.from(tokens, (v, s) => [v, s]));
    const usedRows = (all: ArrayLike<number>) => {
      const rows = new Float32Array(S * C);
      tokens.forEach((v, s) => { for (let c = 0; c < C; c++) rows[s * C + c] = all[v * C + c]!; });
      return rows;
    };
    const before = usedRows(await readTensor(gpu, dw));
    embeddingBackward(gpu, idv, demb, dw);
    const want = embeddingBackwardRef(Array.from(idv, (v) => index.get(v)!), dembv, before, S, C);
    check("embeddingBackward", usedRows(await readTensor(gpu, dw)), want, 1e-4, 1e-5);
    timed.push({
      kernel: "embedding backward", shape: `T=${T} C=${C} V=${V} (${S} distinct)`, bytes: (T + 2 * S) * C * 4,
      ours: () => embeddingBackward(gpu, idv, demb, dw), gpuVariant: () => embeddingBackward(gpu, idv, demb, dw, GPU),
    });
  }
  timed.unshift({
    kernel: "embedding forward", shape: `T=${T} C=${C} V=${V}`, bytes: 2 * T * C * 4,
    ours: () => embeddingForward(gpu, ids, w, emb), gpuVariant: () => embeddingForward(gpu, ids, w, emb, GPU),
  });

  // RMSNorm.
  const xv = randomFloats(T * C, 3);
  const nwv = randomFloats(C, 4, 2);
  const dyv = randomFloats(T * C, 5);
  const x = keep(tensorFrom(gpu, xv, [T, C]));
  const nw = keep(tensorFrom(gpu, nwv, [C]));
  const y = keep(createTensor(gpu, [T, C]));
  const rstd = keep(createTensor(gpu, [T]));
  const dy = keep(tensorFrom(gpu, dyv, [T, C]));
  const dx = keep(createTensor(gpu, [T, C]));
  const dnw = keep(createTensor(gpu, [C]));
  rmsnormForward(gpu, x, nw, y, rstd, 1e-6);
  const fwd = rmsnormForwardRef(xv, nwv, C, 1e-6);
  check("rmsnormForward", await readTensor(gpu, y), fwd.y, 1e-5, 1e-5);
  rmsnormBackward(gpu, x, nw, rstd, dy, dx, dnw);
  const back = rmsnormBackwardRef(xv, nwv, await readTensor(gpu, rstd), dyv, C);
  check("rmsnormBackward dx", await readTensor(gpu, dx), back.dx, 1e-5, 1e-4);
  check("rmsnormBackward dw", await readTensor(gpu, dnw), back.dw, 1e-3, 1e-4);
  timed.push(
    { kernel: "rmsnorm forward", shape: `T=${T} C=${C}`, bytes: 2 * T * C * 4,
      ours: () => rmsnormForward(gpu, x, nw, y, rstd, 1e-6), gpuVariant: () => rmsnormForward(gpu, x, nw, y, rstd, 1e-6, GPU) },
    { kernel: "rmsnorm backward", shape: `T=${T} C=${C}`, bytes: 3 * T * C * 4,
      ours: () => rmsnormBackward(gpu, x, nw, rstd, dy, dx, dnw), gpuVariant: () => rmsnormBackward(gpu, x, nw, rstd, dy, dx, dnw, GPU) },
  );

  // SwiGLU.
  const gv = randomFloats(T * I, 6, 4);
  const uv = randomFloats(T * I, 7);
  const dov = randomFloats(T * I, 8);
  const g = keep(tensorFrom(gpu, gv, [T, I]));
  const u = keep(tensorFrom(gpu, uv, [T, I]));
  const dout = keep(tensorFrom(gpu, dov, [T, I]));
  const act = keep(createTensor(gpu, [T, I]));
  const dg = keep(createTensor(gpu, [T, I]));
  const du = keep(createTensor(gpu, [T, I]));
  swigluForward(gpu, g, u, act);
  check("swigluForward", await readTensor(gpu, act), swigluForwardRef(gv, uv), 1e-7, 1e-5);
  swigluBackward(gpu, g, u, dout, dg, du);
  const sb = swigluBackwardRef(gv, uv, dov);
  check("swigluBackward dg", await readTensor(gpu, dg), sb.dg, 1e-6, 1e-5);
  check("swigluBackward du", await readTensor(gpu, du), sb.du, 1e-7, 1e-5);
  timed.push(
    { kernel: "swiglu forward", shape: `T=${T} I=${I}`, bytes: 3 * T * I * 4,
      ours: () => swigluForward(gpu, g, u, act), gpuVariant: () => swigluForward(gpu, g, u, act, GPU) },
    { kernel: "swiglu backward", shape: `T=${T} I=${I}`, bytes: 5 * T * I * 4,
      ours: () => swigluBackward(gpu, g, u, dout, dg, du), gpuVariant: () => swigluBackward(gpu, g, u, dout, dg, du, GPU) },
  );

  // RoPE on q [T, H·D], in place (forward and backward are the same kernel; both timed).
  const qv = randomFloats(T * H * D, 9);
  const q = keep(tensorFrom(gpu, qv, [T, H * D]));
  const ropeOpts = { headDim: D, theta: THETA, offset: 100000 };
  ropeForward(gpu, q, ropeOpts);
  check("ropeForward", await readTensor(gpu, q), ropeForwardRef(qv, [T, H * D], { headDim: D, theta: THETA, offset: 100000 }), 1e-6, 0);
  timed.push(
    { kernel: "rope forward (q)", shape: `T=${T} H=${H} D=${D}`, bytes: 2 * T * H * D * 4,
      ours: () => ropeForward(gpu, q, ropeOpts), gpuVariant: () => ropeForward(gpu, q, { ...ropeOpts, ...GPU }) },
    { kernel: "rope backward (q)", shape: `T=${T} H=${H} D=${D}`, bytes: 2 * T * H * D * 4,
      ours: () => ropeBackward(gpu, q, ropeOpts), gpuVariant: () => ropeBackward(gpu, q, { ...ropeOpts, ...GPU }) },
  );

  // The memory roofline: a buffer-to-buffer copy of the swiglu operand (reads and writes T·I floats).
  const copyTime = await timeGpu(gpu, () => copyTensor(gpu, g, act));
  const copyRate = (2 * T * I * 4) / copyTime.ms / 1e6;

  const rows: BenchRow[] = [];
  for (const k of timed) {
    const ours = await timeGpu(gpu, k.ours);
    const base = await timeGpu(gpu, k.gpuVariant, { samples: 3 });
    const rate = k.bytes / ours.ms / 1e6;
    rows.push({
      kernel: k.kernel, shape: k.shape, ms: ours.ms, rate, unit: "GB/s",
      baseline: "gpu variant", baselineMs: base.ms, ratio: base.ms / ours.ms,
      notes: `${((100 * rate) / copyRate).toFixed(0)}% of buffer copy (${copyRate.toFixed(1)} GB/s)`,
    });
  }
  for (const t of live) releaseTensor(gpu, t);
  return rows;
}
