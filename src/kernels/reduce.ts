// Host half of shaders/reduce.wgsl: row sums and means, and full sums in two fixed-order stages.
import type { Gpu } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, createTensor, releaseTensor, shapeString } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/reduce.wgsl" with { type: "text" };

const REDUCE = shader("shaders/reduce.wgsl", source);
/** Elements per first-stage chunk of a full sum (one workgroup each). */
const CHUNK = 4096;

function sumRowsRaw(gpu: Gpu, op: string, x: Tensor, rows: number, cols: number, n: number, scale: number, out: Tensor): void {
  dispatch(gpu, {
    op,
    shader: REDUCE,
    entry: "sum_rows",
    params: packParams([rows, cols, n], [scale]),
    bindings: [x, out],
    workgroups: rows,
  });
}

/** out[r] = sum (or mean) over the last dimension of x: x [..., C] -> out [...] (rows = size / C). */
export function sumRows(gpu: Gpu, x: Tensor, out: Tensor, opts: { mean?: boolean } = {}): void {
  const op = opts.mean ? "meanRows" : "sumRows";
  const cols = x.shape[x.shape.length - 1];
  if (cols === undefined || cols === 0) throw runError(`${op}: x ${shapeString(x.shape)} needs a non-empty last dimension`);
  const rows = x.size / cols;
  if (out.size !== rows) throw runError(`${op}: x ${shapeString(x.shape)} has ${rows} rows but out is ${shapeString(out.shape)}`);
  sumRowsRaw(gpu, op, x, rows, cols, x.size, opts.mean ? 1 / cols : 1, out);
}

/** out[0] = sum (or mean) of every element of x; in stages, so large inputs spread over workgroups. */
export function sumAll(gpu: Gpu, x: Tensor, out: Tensor, opts: { mean?: boolean } = {}): void {
  const op = opts.mean ? "meanAll" : "sumAll";
  if (out.size !== 1) throw runError(`${op}: out must hold one element, got ${shapeString(out.shape)}`);
  sumFlat(gpu, op, x, x.size, opts.mean ? 1 / Math.max(x.size, 1) : 1, out);
}

/** Sums the first n elements of x into out[0], times scale: chunk sums, then the sum of those. */
function sumFlat(gpu: Gpu, op: string, x: Tensor, n: number, scale: number, out: Tensor): void {
  if (n <= CHUNK) {
    sumRowsRaw(gpu, op, x, 1, Math.max(n, 1), n, scale, out);
    return;
  }
  const chunks = Math.ceil(n / CHUNK);
  const partial = createTensor(gpu, [chunks], "f32", `${op}.partial`);
  sumRowsRaw(gpu, op, x, chunks, CHUNK, n, 1, partial);
  sumFlat(gpu, op, partial, chunks, scale, out);
  releaseTensor(gpu, partial);
}
