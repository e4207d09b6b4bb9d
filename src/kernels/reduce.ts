// Host half of shaders/reduce.wgsl: row sums, means, sums of squares and maxima, and full sums in
// fixed-order stages (chunk sums, then the sum of those). Tensors larger than one storage binding
// are reduced range by range (bindingRanges); the result does not depend on where ranges split.
import { type Gpu, maxBindingBytes } from "../gpu/context.ts";
import { type Binding, dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, createTensor, releaseTensor, shapeString } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/reduce.wgsl" with { type: "text" };

const REDUCE = shader("shaders/reduce.wgsl", source);

/**
 * Per-adapter shape of the reductions: wg, the workgroup size; chunk, the elements per first-stage
 * chunk of a full sum (one workgroup each, a multiple of 4). On CPU adapters (lavapipe) barriers
 * are expensive, so few long workgroups win: summing squares of 30M elements, 64 lanes reading vec4
 * over 65536-element chunks took ~1/10 the CPU time of 256 lanes reading scalars over 4096-element
 * chunks. GPUs want many workgroups (not tuned here: never tune GPU kernels on lavapipe).
 */
export function reduceShape(gpu: Gpu): { wg: number; chunk: number } {
  return gpu.isSoftware ? { wg: 64, chunk: 65536 } : { wg: 256, chunk: 8192 };
}

export interface SumOptions {
  /** Divide by the number of elements summed. */
  mean?: boolean;
  /** Sum x² instead of x (with mean: the mean square). */
  square?: boolean;
}

/** One dispatch of a reduce.wgsl entry over a binding; rows are written from out[outOffset]. */
function reduceRows(gpu: Gpu, op: string, entry: "sum_rows" | "max_rows", x: Binding, rows: number, cols: number, n: number, scale: number, out: Tensor, outOffset: number, square = false): void {
  dispatch(gpu, {
    op,
    shader: REDUCE,
    entry,
    constants: entry === "sum_rows" ? { SQUARE: square, WG: reduceShape(gpu).wg } : { WG: reduceShape(gpu).wg },
    params: packParams([rows, cols, n, outOffset], [scale]),
    bindings: [x, out],
    workgroups: rows,
  });
}

function rowsOf(op: string, x: Tensor, out: Tensor): [number, number] {
  const cols = x.shape[x.shape.length - 1];
  if (cols === undefined || cols === 0) throw runError(`${op}: x ${shapeString(x.shape)} needs a non-empty last dimension`);
  const rows = x.size / cols;
  if (out.size !== rows) throw runError(`${op}: x ${shapeString(x.shape)} has ${rows} rows but out is ${shapeString(out.shape)}`);
  return [rows, cols];
}

/** out[r] = sum, mean, sum of squares or mean square over the last dimension of x: x [..., C] -> out [...]. */
export function sumRows(gpu: Gpu, x: Tensor, out: Tensor, opts: SumOptions = {}): void {
  const op = `${opts.mean ? "mean" : "sum"}${opts.square ? "Squares" : ""}Rows`;
  const [rows, cols] = rowsOf(op, x, out);
  reduceRows(gpu, op, "sum_rows", x, rows, cols, x.size, opts.mean ? 1 / cols : 1, out, 0, opts.square);
}

/** out[r] = max over the last dimension of x: x [..., C] -> out [...] (C >= 1; -inf is fine, NaN unspecified). */
export function maxRows(gpu: Gpu, x: Tensor, out: Tensor): void {
  const [rows, cols] = rowsOf("maxRows", x, out);
  reduceRows(gpu, "maxRows", "max_rows", x, rows, cols, x.size, 1, out, 0);
}

/** out[0] = sum (mean, sum of squares, mean square) of every element of x, in fixed-order stages. */
export function sumAll(gpu: Gpu, x: Tensor, out: Tensor, opts: SumOptions = {}): void {
  const op = `${opts.mean ? "mean" : "sum"}${opts.square ? "Squares" : ""}All`;
  if (out.size !== 1) throw runError(`${op}: out must hold one element, got ${shapeString(out.shape)}`);
  sumInto(gpu, op, x, out, 0, { square: opts.square, scale: opts.mean ? 1 / Math.max(x.size, 1) : 1 });
}

/**
 * Element ranges [start, start + count) of an n-element tensor that each fit one storage binding.
 * Every range but the last holds a multiple of the chunk (reduceShape), so range offsets suit any
 * adapter's binding alignment and vec4 views, and chunk sums do not depend on where ranges split.
 * maxElements (default: the adapter's binding size / 4) is lowered by tests to exercise the split
 * path on small tensors; a range holds at least one chunk.
 */
export function bindingRanges(gpu: Gpu, n: number, maxElements?: number): { start: number; count: number }[] {
  const { chunk } = reduceShape(gpu);
  const limit = maxElements ?? Math.floor(maxBindingBytes(gpu) / 4);
  const step = Math.max(chunk, Math.floor(limit / chunk) * chunk);
  const out: { start: number; count: number }[] = [];
  for (let start = 0; start < n; start += step) out.push({ start, count: Math.min(step, n - start) });
  return out;
}

/** Number of partial sums chunkSums writes for n elements. */
export function chunkCount(gpu: Gpu, n: number): number {
  return Math.ceil(n / reduceShape(gpu).chunk);
}

/**
 * Records out[outOffset + k] = sum (of squares, with square) of x's chunk k (reduceShape(gpu).chunk
 * elements), for k < chunkCount(gpu, x.size); returns that count. Read as vec4 (the last x.size
 * mod 4 elements as scalars). The first stage of full sums and of gradient norms.
 */
export function chunkSums(gpu: Gpu, op: string, x: Tensor, out: Tensor, outOffset: number, opts: { square?: boolean; maxBindingElements?: number } = {}): number {
  const { wg, chunk } = reduceShape(gpu);
  const chunks = chunkCount(gpu, x.size);
  if (outOffset + chunks > out.size) throw runError(`${op}: ${chunks} chunk sums of x ${shapeString(x.shape)} from offset ${outOffset} do not fit out ${shapeString(out.shape)}`);
  for (const r of bindingRanges(gpu, x.size, opts.maxBindingElements)) {
    const rows = Math.ceil(r.count / chunk);
    const at = outOffset + r.start / chunk;
    const xs = { tensor: x, offset: r.start * 4, size: r.count * 4 };
    if (r.count < 4) {
      reduceRows(gpu, op, "sum_rows", xs, rows, chunk, r.count, 1, out, at, opts.square);
      continue;
    }
    const x4 = { tensor: x, offset: r.start * 4, size: Math.floor(r.count / 4) * 16 };
    dispatch(gpu, {
      op,
      shader: REDUCE,
      entry: "sum_chunks",
      constants: { SQUARE: opts.square ?? false, WG: wg },
      params: packParams([rows, chunk, r.count, at], [1]),
      bindings: [xs, out, x4],
      workgroups: rows,
    });
  }
  return chunks;
}

/**
 * Records out[outOffset] = scale · sum of the elements of x (of their squares, with square):
 * chunk sums, then the sum of those, until one value is left.
 */
export function sumInto(gpu: Gpu, op: string, x: Tensor, out: Tensor, outOffset: number, opts: { square?: boolean; scale?: number; maxBindingElements?: number } = {}): void {
  const n = x.size;
  const scale = opts.scale ?? 1;
  if (n <= reduceShape(gpu).chunk) {
    reduceRows(gpu, op, "sum_rows", x, 1, Math.max(n, 1), n, scale, out, outOffset, opts.square);
    return;
  }
  const partial = createTensor(gpu, [chunkCount(gpu, n)], "f32", `${op}.partial`); // [ceil(n / chunk)]
  chunkSums(gpu, op, x, partial, 0, opts);
  sumInto(gpu, op, partial, out, outOffset, { scale });
  releaseTensor(gpu, partial);
}
