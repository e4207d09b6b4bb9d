// Host half of shaders/rope.wgsl: rotary position embedding in place, forward and backward
// (the inverse rotation), with positions offset + t (KV-cache decode) or per token (packed
// shared-prefix rows, whose responses continue from the prompt's end).
// Letters: B batch, T tokens, H heads (Hkv for k), D head dim. Not done here: HF's rope_scaling
// variants (Qwen2.5 uses plain RoPE up to 32K; YaRN would change the frequency table only).
import type { Gpu } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, shapeString, tensorFrom } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/rope.wgsl" with { type: "text" };

const ROPE = shader("shaders/rope.wgsl", source);

export interface RopeOptions {
  /** D, the head dimension (even). x's last dimension holds H heads of D. */
  headDim: number;
  /** rope_theta from the model config (Qwen2.5: 1e6). */
  theta: number;
  /** Position of the first token of each sequence (default 0): pos = offset + t. */
  offset?: number;
  /** Per-token positions, u32 [rows] (one per row of x); overrides offset. */
  positions?: Tensor;
  /** Kernel shape (default by adapter): "cpu" gives a row 4 lanes in workgroups of 16; "gpu" gives
   *  a row 8 lanes (32 when D % 8 != 0) in workgroups of 64. Tests try both. */
  variant?: "cpu" | "gpu";
}

/**
 * The frequency table: for i < D/2, turns per position θ^(−2i/D) / 2π as 64-bit fixed point,
 * words [hi, lo] (value (hi·2^32 + lo) / 2^64). Exact to float64's 53 bits.
 */
export function ropeFrequencyWords(theta: number, D: number): Uint32Array {
  const words = new Uint32Array(D);
  for (let i = 0; i < D / 2; i++) {
    const scaled = (Math.pow(theta, (-2 * i) / D) / (2 * Math.PI)) * 2 ** 32; // < 2^32: turns < 1
    const hi = Math.floor(scaled);
    words[2 * i] = hi;
    words[2 * i + 1] = Math.floor((scaled - hi) * 2 ** 32);
  }
  return words;
}

/** One frequency table per (θ, D), uploaded on first use and kept for the device's life. */
const tables = new WeakMap<Gpu, Map<string, Tensor>>();
function frequencyTable(gpu: Gpu, theta: number, D: number): Tensor {
  let perGpu = tables.get(gpu);
  if (!perGpu) tables.set(gpu, (perGpu = new Map()));
  const key = `${theta}/${D}`;
  let t = perGpu.get(key);
  if (!t || t.released) perGpu.set(key, (t = tensorFrom(gpu, ropeFrequencyWords(theta, D), [D / 2, 2], "u32", "rope.freq")));
  return t;
}

function rotate(gpu: Gpu, op: string, x: Tensor, opts: RopeOptions, sign: number): void {
  const D = opts.headDim;
  const offset = opts.offset ?? 0;
  const pos = opts.positions;
  const desc = `x ${shapeString(x.shape)}, headDim ${D}${pos ? `, positions ${shapeString(pos.shape)} ${pos.dtype}` : ""}`;
  const HD = x.shape[x.shape.length - 1] ?? 0;
  const T = x.shape[x.shape.length - 2] ?? 0;
  if (!Number.isInteger(D) || D < 2 || D % 2 !== 0) throw runError(`${op}: headDim must be even and positive (${desc})`);
  if (x.shape.length < 2 || HD % D !== 0 || HD === 0 || x.dtype !== "f32") {
    throw runError(`${op}: shapes do not match (${desc}): need f32 x [..., T, H·D] with H·D a multiple of ${D}`);
  }
  const rows = x.size / HD;
  if (pos && (pos.size !== rows || pos.dtype !== "u32")) throw runError(`${op}: shapes do not match (${desc}): need u32 positions [${rows}], one per row of x`);
  if (!(opts.theta > 1)) throw runError(`${op}: theta must be > 1, got ${opts.theta}`);
  if (!Number.isInteger(offset) || offset < 0 || offset + T > 2 ** 32) throw runError(`${op}: offset ${offset} must be a u32 position`);
  const freq = frequencyTable(gpu, opts.theta, D);
  const cpu = (opts.variant ?? (gpu.isSoftware ? "cpu" : "gpu")) === "cpu";
  const vec4 = D % 8 === 0;
  // Measured on lavapipe: 4 lanes per row, 16 invocations per workgroup; GPUs: ~one lane per step.
  const [WG, LPR] = cpu ? [16, 4] : [64, vec4 ? 8 : 32];
  dispatch(gpu, {
    op,
    shader: ROPE,
    entry: vec4 ? "rope_rotate4" : "rope_rotate",
    constants: { WG, LPR, PER_TOKEN: pos !== undefined },
    params: packParams([rows, T, HD, D, offset], [sign]),
    bindings: [x, pos ?? freq, freq], // without positions, the table stands in for the unused slot
    workgroups: Math.ceil(rows / (WG / LPR)),
  });
}

/** Rotates x [..., T, H·D] in place by its positions (q with H heads, k with Hkv heads). */
export function ropeForward(gpu: Gpu, x: Tensor, opts: RopeOptions): void {
  rotate(gpu, "ropeForward", x, opts, 1);
}

/** The backward of ropeForward, in place on dx: the inverse (transpose) rotation. */
export function ropeBackward(gpu: Gpu, dx: Tensor, opts: RopeOptions): void {
  rotate(gpu, "ropeBackward", dx, opts, -1);
}
