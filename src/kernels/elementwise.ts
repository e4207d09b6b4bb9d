// Host half of shaders/elementwise.wgsl: fill, add (alpha·a + beta·b), scale, in-place add.
import type { Gpu } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, shapeString } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/elementwise.wgsl" with { type: "text" };

const ELEMENTWISE = shader("shaders/elementwise.wgsl", source);
const WG = 256;

function sameSize(op: string, ...ts: Tensor[]): number {
  const n = ts[0]!.size;
  for (const t of ts) {
    if (t.size !== n) throw runError(`${op}: sizes differ (${ts.map((x) => shapeString(x.shape)).join(" vs ")})`);
  }
  return n;
}

function run(gpu: Gpu, entry: string, n: number, alpha: number, beta: number, value: number, a?: Tensor, b?: Tensor, out?: Tensor): void {
  dispatch(gpu, {
    op: entry,
    shader: ELEMENTWISE,
    entry,
    params: packParams([n], [alpha, beta, value]),
    bindings: [a, b, out],
    workgroups: Math.ceil(n / WG),
  });
}

/** out[i] = value (works on f32, and on u32/i32 for value 0). */
export function fill(gpu: Gpu, out: Tensor, value: number): void {
  if (out.dtype !== "f32" && value !== 0) throw runError(`fill: ${out.dtype} tensors can only be filled with 0`);
  run(gpu, "fill", out.size, 0, 0, value, undefined, undefined, out);
}

/** out = alpha·a + beta·b (defaults: a + b). Backward: da = alpha·dout, db = beta·dout. */
export function add(gpu: Gpu, a: Tensor, b: Tensor, out: Tensor, alpha = 1, beta = 1): void {
  const n = sameSize("add", a, b, out);
  run(gpu, "add", n, alpha, beta, 0, a, b, out);
}

/** out = alpha·a. Backward: da = alpha·dout. */
export function scale(gpu: Gpu, a: Tensor, out: Tensor, alpha: number): void {
  const n = sameSize("scale", a, out);
  run(gpu, "scale", n, alpha, 0, 0, a, undefined, out);
}

/** out = alpha·a + beta·out, in place (gradient accumulation, axpy). */
export function addInplace(gpu: Gpu, a: Tensor, out: Tensor, alpha = 1, beta = 1): void {
  const n = sameSize("addInplace", a, out);
  run(gpu, "add_inplace", n, alpha, beta, 0, a, undefined, out);
}
