// Host half of shaders/swiglu.wgsl: out = silu(g) ⊙ u and its backward (dg, du).
// Letters: N tokens, I intermediate channels (gate_proj and up_proj outputs are [N, I] each).
import type { Gpu } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, shapeString } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/swiglu.wgsl" with { type: "text" };

const SWIGLU = shader("shaders/swiglu.wgsl", source);
/** Elements per workgroup (4 · CHUNK in the shader). */
const PER_WORKGROUP = 1024;

export interface SwigluOptions {
  /** Kernel shape (default by adapter): "cpu" uses 8-invocation workgroups (one lavapipe
   *  subgroup), "gpu" 64. Tests try both. */
  variant?: "cpu" | "gpu";
}

/** Throws unless every tensor has g's shape and is f32. */
function sameShape(op: string, named: [string, Tensor][]): number {
  const s = named[0]![1].shape;
  const same = (t: Tensor) => t.dtype === "f32" && t.shape.length === s.length && t.shape.every((d, i) => d === s[i]);
  if (!named.every(([, t]) => same(t))) {
    throw runError(`${op}: shapes do not match (${named.map(([n, t]) => `${n} ${shapeString(t.shape)} ${t.dtype}`).join(", ")}): all f32 of one shape`);
  }
  return named[0]![1].size;
}

/** The vec4 view of a tensor (the pool's buffers are at least 256 bytes, so 16 always fits). */
function vec4View(t: Tensor, v4: boolean) {
  return { tensor: t, offset: 0, size: v4 ? Math.ceil(t.byteSize / 16) * 16 : 16 };
}

function run(gpu: Gpu, op: string, entry: string, n: number, opts: SwigluOptions, bindings: (Tensor | undefined)[]): void {
  const v4 = n % 4 === 0;
  const [g, u, dout, out, du] = bindings;
  dispatch(gpu, {
    op,
    shader: SWIGLU,
    entry,
    constants: { WG: (opts.variant ?? (gpu.isSoftware ? "cpu" : "gpu")) === "cpu" ? 8 : 64, V4: v4 },
    params: packParams([n]),
    bindings: [g, vec4View(g!, v4), u, vec4View(u!, v4), dout, dout && vec4View(dout, v4), out, du],
    workgroups: Math.ceil(n / PER_WORKGROUP),
  });
}

/** out = silu(g) ⊙ u. g, u, out: [N, I] (any shape, all the same). */
export function swigluForward(gpu: Gpu, g: Tensor, u: Tensor, out: Tensor, opts: SwigluOptions = {}): void {
  const n = sameShape("swigluForward", [["g", g], ["u", u], ["out", out]]);
  run(gpu, "swigluForward", "swiglu_forward", n, opts, [g, u, undefined, out, undefined]);
}

/** dg = dout·u·σ(g)·(1 + g·(1 − σ(g))), du = dout·silu(g). All tensors [N, I]. */
export function swigluBackward(gpu: Gpu, g: Tensor, u: Tensor, dout: Tensor, dg: Tensor, du: Tensor, opts: SwigluOptions = {}): void {
  const n = sameShape("swigluBackward", [["g", g], ["u", u], ["dout", dout], ["dg", dg], ["du", du]]);
  run(gpu, "swigluBackward", "swiglu_backward", n, opts, [g, u, dout, dg, du]);
}
