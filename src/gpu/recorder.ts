// Command batching: dispatches are recorded into one open command encoder and compute pass and
// submitted together by flush(); kernel parameters go into one uniform ring written once per
// flush. The host waits only in sync() and readback. Grids over the per-dimension limit are folded
// into 2-D/3-D; kernels recover the linear workgroup index (see shaders/common.md convention:
// `wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y`) and bounds-check against their own count.
import { type Gpu, checkGpu, maxBindingBytes } from "./context.ts";
import { getPipeline, takeCompileErrors, type Constants, type Shader } from "./pipeline.ts";
import { type Profile, drainProfile, profileFull, profilePass, profileResolve } from "./profile.ts";
import type { Tensor } from "./tensor.ts";
import { runError } from "../util/errors.ts";

const RING_BYTES = 1 << 20; // uniform ring per flush; a flush happens early when it fills

export interface Recorder {
  encoder: GPUCommandEncoder | undefined;
  pass: GPUComputePassEncoder | undefined;
  ring: GPUBuffer | undefined;
  ringHost: Uint8Array;
  ringUsed: number;
  /** Dispatches recorded since the last flush. */
  pending: number;
  /** Dispatches recorded since the context was made (for tests and benchmarks). */
  total: number;
  /** Open kernel profile (src/gpu/profile.ts): each dispatch in a timed pass of its own. */
  profile?: Profile;
}

export function newRecorder(): Recorder {
  return { encoder: undefined, pass: undefined, ring: undefined, ringHost: new Uint8Array(RING_BYTES), ringUsed: 0, pending: 0, total: 0 };
}

/** A storage binding: a whole tensor, or a byte range of one (for tensors split across bindings). */
export type Binding = Tensor | { tensor: Tensor; offset: number; size: number };

export interface DispatchSpec {
  /** Op name for error messages ("matmul"). */
  op: string;
  shader: Shader;
  entry: string;
  constants?: Constants;
  /** Packed uniform parameters, bound at @binding(0); omit when the entry point has none. */
  params?: ArrayBuffer | ArrayBufferView;
  /** Storage bindings in order, at @binding(1), @binding(2), ...; undefined leaves a gap. */
  bindings: (Binding | undefined)[];
  /** Workgroup count: a number (folded when over the limit) or an explicit [x, y, z]. */
  workgroups: number | readonly [number, number?, number?];
}

/** Records one dispatch into the open batch. Nothing runs until flush() or a readback. */
export function dispatch(gpu: Gpu, spec: DispatchSpec): void {
  checkGpu(gpu, spec.op);
  const grid = foldGrid(gpu, spec.op, spec.workgroups);
  if (grid[0] * grid[1] * grid[2] === 0) return;
  const maxBinding = maxBindingBytes(gpu);
  const pipeline = getPipeline(gpu, spec.shader, spec.entry, spec.constants);
  const entries: GPUBindGroupEntry[] = [];
  const rec = gpu.recorder;
  if (rec.profile && profileFull(gpu)) flush(gpu); // before the uniforms go into the ring
  if (spec.params) {
    const bytes = spec.params instanceof ArrayBuffer ? new Uint8Array(spec.params) : new Uint8Array(spec.params.buffer, spec.params.byteOffset, spec.params.byteLength);
    const align = Math.max(16, gpu.limits.minUniformBufferOffsetAlignment ?? 256);
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    let offset = Math.ceil(rec.ringUsed / align) * align;
    if (offset + size > RING_BYTES) {
      flush(gpu);
      offset = 0;
    }
    if (!rec.ring) {
      rec.ring = gpu.device.createBuffer({ label: "longrl.uniforms", size: RING_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    }
    rec.ringHost.set(bytes, offset);
    rec.ringHost.fill(0, offset + bytes.byteLength, offset + size);
    rec.ringUsed = offset + size;
    entries.push({ binding: 0, resource: { buffer: rec.ring, offset, size } });
  }
  spec.bindings.forEach((b, i) => {
    if (b === undefined) return;
    const t = "tensor" in b ? b.tensor : b;
    const offset = "tensor" in b ? b.offset : 0;
    const size = "tensor" in b ? b.size : t.byteSize;
    if (t.released) throw runError(`${spec.op}: binding ${i + 1} (${t.label ?? "tensor"} [${t.shape.join(", ")}]) was released`);
    if (size > maxBinding) {
      throw runError(
        `${spec.op}: binding ${i + 1} (${t.label ?? "tensor"} [${t.shape.join(", ")}], ${size} bytes) exceeds the adapter's ` +
          `maxStorageBufferBindingSize ${maxBinding}; split it into ranges`,
      );
    }
    entries.push({ binding: i + 1, resource: { buffer: t.buffer, offset, size } });
  });
  const bindGroup = gpu.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const timed = rec.profile ? profilePass(gpu, spec.op, spec.entry) : undefined;
  if (timed) encoderForCopy(gpu); // closes the open pass: this dispatch gets a timed pass of its own
  const pass = openPass(gpu, timed);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
  if (timed) {
    pass.end();
    rec.pass = undefined;
  }
  rec.pending++;
  rec.total++;
}

/** Folds a workgroup count over maxComputeWorkgroupsPerDimension into 2-D/3-D. */
export function foldGrid(gpu: Gpu, op: string, wg: number | readonly [number, number?, number?]): [number, number, number] {
  const max = gpu.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  if (typeof wg === "number") {
    if (wg <= max) return [wg, 1, 1];
    const x = max;
    const rest = Math.ceil(wg / x);
    if (rest <= max) return [x, rest, 1];
    const z = Math.ceil(rest / max);
    if (z > max) throw runError(`${op}: ${wg} workgroups is more than any device can run`);
    return [x, max, z];
  }
  const g: [number, number, number] = [wg[0], wg[1] ?? 1, wg[2] ?? 1];
  if (g.some((v) => v > max)) throw runError(`${op}: grid [${g.join(", ")}] exceeds ${max} workgroups per dimension; use a 1-D count`);
  return g;
}

function openPass(gpu: Gpu, timestampWrites?: GPUComputePassTimestampWrites): GPUComputePassEncoder {
  const rec = gpu.recorder;
  if (!rec.encoder) rec.encoder = gpu.device.createCommandEncoder({ label: "longrl.step" });
  if (!rec.pass) rec.pass = rec.encoder.beginComputePass(timestampWrites ? { timestampWrites } : undefined);
  return rec.pass;
}

/** The open encoder with no pass open, for copies. */
export function encoderForCopy(gpu: Gpu): GPUCommandEncoder {
  const rec = gpu.recorder;
  if (rec.pass) {
    rec.pass.end();
    rec.pass = undefined;
  }
  if (!rec.encoder) rec.encoder = gpu.device.createCommandEncoder({ label: "longrl.step" });
  return rec.encoder;
}

/** Submits everything recorded so far (one command buffer). Does not wait. */
export function flush(gpu: Gpu): void {
  const rec = gpu.recorder;
  if (!rec.encoder) return;
  if (rec.pass) {
    rec.pass.end();
    rec.pass = undefined;
  }
  if (rec.profile) profileResolve(gpu, rec.encoder);
  if (rec.ring && rec.ringUsed > 0) gpu.device.queue.writeBuffer(rec.ring, 0, rec.ringHost, 0, rec.ringUsed);
  gpu.device.queue.submit([rec.encoder.finish()]);
  rec.encoder = undefined;
  rec.ringUsed = 0;
  rec.pending = 0;
}

/** Flushes and waits until the GPU has finished; raises compile, validation and device-loss errors. */
export async function sync(gpu: Gpu, what = "GPU work"): Promise<void> {
  flush(gpu);
  await gpu.device.queue.onSubmittedWorkDone();
  await drainProfile(gpu); // bounded memory over a long profiled run
  await raiseErrors(gpu, what);
}

export async function raiseErrors(gpu: Gpu, what: string): Promise<void> {
  const compileError = await takeCompileErrors(gpu);
  if (compileError) {
    gpu.uncaptured.length = 0; // follow-on errors of the broken pipeline
    throw runError(compileError);
  }
  checkGpu(gpu, what);
}

/** Copies bytes [offset, offset+size) of a buffer to the host. Waits; unmaps before returning or throwing. */
export async function readBytes(gpu: Gpu, src: GPUBuffer, offset: number, size: number, what: string): Promise<ArrayBuffer> {
  const padded = Math.max(4, Math.ceil(size / 4) * 4);
  const staging = takeStaging(gpu, padded);
  const enc = encoderForCopy(gpu);
  enc.copyBufferToBuffer(src, offset, staging, 0, padded);
  flush(gpu);
  try {
    await staging.mapAsync(GPUMapMode.READ, 0, padded);
    gpu.mapped.add(staging);
    const out = staging.getMappedRange(0, padded).slice(0, size);
    return out;
  } finally {
    if (gpu.mapped.delete(staging)) staging.unmap();
    if (!gpu.released) giveStaging(gpu, padded, staging);
    if (!gpu.released) await drainProfile(gpu); // the copy ran after everything before it
    await raiseErrors(gpu, what);
  }
}

/** A MAP_READ | COPY_DST buffer of `size` bytes from the pool (or a new one); give it back with giveStaging. */
export function takeStaging(gpu: Gpu, size: number): GPUBuffer {
  const list = gpu.staging.get(size);
  const hit = list?.pop();
  if (hit) return hit;
  return gpu.device.createBuffer({ label: "longrl.staging", size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
}

export function giveStaging(gpu: Gpu, size: number, b: GPUBuffer): void {
  let list = gpu.staging.get(size);
  if (!list) gpu.staging.set(size, (list = []));
  if (list.length < 4) list.push(b);
  else b.destroy();
}
