// Tensors: a GPU storage buffer with a shape and a dtype. Buffers come from a pool keyed by byte
// size and go back to it on releaseTensor(), so a training step allocates nothing after the first.
// Row-major; the last dimension is contiguous.
import { type Gpu, checkGpu } from "./context.ts";
import { encoderForCopy, flush, readBytes } from "./recorder.ts";
import { runError } from "../util/errors.ts";

export type DType = "f32" | "u32" | "i32";
export type HostArray = Float32Array | Uint32Array | Int32Array;

export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Bytes bound by kernels (size * 4, at least 4). The buffer may be larger (pool rounding). */
  readonly byteSize: number;
  readonly label?: string;
  released: boolean;
}

const USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** A new (or pooled) tensor. Its contents are undefined until written or filled. */
export function createTensor(gpu: Gpu, shape: readonly number[], dtype: DType = "f32", label?: string): Tensor {
  checkGpu(gpu, "createTensor");
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw runError(`createTensor${label ? ` ${label}` : ""}: bad shape ${shapeString(shape)}`);
  }
  const size = numel(shape);
  const byteSize = Math.max(4, size * 4);
  const allocated = poolSize(byteSize);
  const maxBuffer = gpu.limits.maxBufferSize ?? 268435456;
  if (allocated > maxBuffer) {
    throw runError(`createTensor${label ? ` ${label}` : ""} ${shapeString(shape)}: ${byteSize} bytes exceeds the adapter's maxBufferSize ${maxBuffer}`);
  }
  const list = gpu.pool.get(allocated);
  const buffer = list?.pop() ?? gpu.device.createBuffer({ label: label ?? "tensor", size: allocated, usage: USAGE() });
  return { buffer, shape: [...shape], dtype, size, byteSize, label, released: false };
}

/** Rounds sizes up so that buffers of similar size share a pool bucket (at most ~12% waste). */
function poolSize(bytes: number): number {
  if (bytes <= 4096) return Math.ceil(bytes / 256) * 256;
  const step = 2 ** Math.max(8, Math.floor(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}

/** Returns the tensor's buffer to the pool. Work already recorded that uses it still runs first. */
export function releaseTensor(gpu: Gpu, t: Tensor): void {
  if (t.released) return;
  t.released = true;
  if (gpu.released) return;
  const key = t.buffer.size;
  let list = gpu.pool.get(key);
  if (!list) gpu.pool.set(key, (list = []));
  list.push(t.buffer);
}

/** Drops every pooled buffer (not the live ones). */
export function trimPool(gpu: Gpu): void {
  for (const list of gpu.pool.values()) {
    for (const b of list) b.destroy();
    list.length = 0;
  }
}

function hostArray(dtype: DType, data: HostArray | readonly number[]): HostArray {
  if (!(data instanceof Float32Array || data instanceof Uint32Array || data instanceof Int32Array)) {
    return dtype === "f32" ? Float32Array.from(data) : dtype === "u32" ? Uint32Array.from(data) : Int32Array.from(data);
  }
  const want = dtype === "f32" ? Float32Array : dtype === "u32" ? Uint32Array : Int32Array;
  if (!(data instanceof want)) throw runError(`tensor of dtype ${dtype} cannot take a ${data.constructor.name}`);
  return data;
}

/** A tensor holding the given host data. */
export function tensorFrom(gpu: Gpu, data: HostArray | readonly number[], shape: readonly number[], dtype: DType = "f32", label?: string): Tensor {
  const t = createTensor(gpu, shape, dtype, label);
  writeTensor(gpu, t, data);
  return t;
}

/**
 * Writes host data into a tensor. Work recorded before this call sees the old contents:
 * the open batch is submitted first, because queue writes run ahead of unsubmitted commands.
 */
export function writeTensor(gpu: Gpu, t: Tensor, data: HostArray | readonly number[]): void {
  const arr = hostArray(t.dtype, data);
  if (arr.length !== t.size) {
    throw runError(`writeTensor ${t.label ?? ""} ${shapeString(t.shape)}: got ${arr.length} values, need ${t.size}`);
  }
  if (gpu.recorder.pending > 0 || gpu.recorder.encoder) flush(gpu);
  if (arr.length > 0) gpu.device.queue.writeBuffer(t.buffer, 0, arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Writes host values into elements [offset, offset + data.length) of a tensor (flushes first, as writeTensor). */
export function writeTensorAt(gpu: Gpu, t: Tensor, offset: number, data: HostArray): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + data.length > t.size) {
    throw runError(`writeTensorAt ${t.label ?? ""} ${shapeString(t.shape)}: elements [${offset}, ${offset + data.length}) are outside it`);
  }
  hostArray(t.dtype, data);
  if (gpu.recorder.pending > 0 || gpu.recorder.encoder) flush(gpu);
  if (data.length > 0) gpu.device.queue.writeBuffer(t.buffer, offset * 4, data.buffer, data.byteOffset, data.byteLength);
}

/** Reads elements [offset, offset + count) of a tensor (waits for all recorded work). */
export async function readTensorRange(gpu: Gpu, t: Tensor, offset: number, count: number): Promise<HostArray> {
  if (t.released) throw runError(`readTensorRange: ${t.label ?? "tensor"} ${shapeString(t.shape)} was released`);
  if (!Number.isInteger(offset) || offset < 0 || count < 0 || offset + count > t.size) {
    throw runError(`readTensorRange ${t.label ?? ""} ${shapeString(t.shape)}: elements [${offset}, ${offset + count}) are outside it`);
  }
  const bytes = await readBytes(gpu, t.buffer, offset * 4, count * 4, `reading ${t.label ?? "tensor"}`);
  return t.dtype === "f32" ? new Float32Array(bytes) : t.dtype === "u32" ? new Uint32Array(bytes) : new Int32Array(bytes);
}

/** Reads a tensor back to the host (waits for all recorded work). */
export async function readTensor(gpu: Gpu, t: Tensor): Promise<HostArray> {
  return readTensorRange(gpu, t, 0, t.size);
}

/** Reads one element (e.g. a loss) without copying the whole tensor. */
export async function readScalar(gpu: Gpu, t: Tensor, index = 0): Promise<number> {
  if (index < 0 || index >= t.size) throw runError(`readScalar: index ${index} outside ${shapeString(t.shape)}`);
  const bytes = await readBytes(gpu, t.buffer, index * 4, 4, `reading ${t.label ?? "scalar"}`);
  const v = t.dtype === "f32" ? new Float32Array(bytes) : t.dtype === "u32" ? new Uint32Array(bytes) : new Int32Array(bytes);
  return v[0]!;
}

/** Records a copy of src into dst (same byte size) in the current batch. */
export function copyTensor(gpu: Gpu, src: Tensor, dst: Tensor): void {
  if (src.size !== dst.size) throw runError(`copyTensor: ${shapeString(src.shape)} into ${shapeString(dst.shape)}: sizes differ`);
  if (src.size > 0) encoderForCopy(gpu).copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, src.size * 4);
}

/**
 * The first numel(shape) elements of t's buffer under another shape (no copy): a scratch buffer
 * sized for the largest block, used for a smaller last block. reshape keeps the element count.
 */
export function prefixView(t: Tensor, shape: readonly number[]): Tensor {
  const size = numel(shape);
  if (size > t.size) throw runError(`prefixView: ${shapeString(shape)} is larger than ${t.label ?? "tensor"} ${shapeString(t.shape)}`);
  return { buffer: t.buffer, shape: [...shape], dtype: t.dtype, size, byteSize: Math.max(4, size * 4), label: t.label, released: t.released };
}

/** Records a copy of rows [srcRow, srcRow + rows) of a [*, C] tensor into dst at dstRow (a buffer copy: no binding-size limit). */
export function copyRows(gpu: Gpu, src: Tensor, srcRow: number, dst: Tensor, dstRow: number, rows: number, C: number): void {
  if ((srcRow + rows) * C > src.size || (dstRow + rows) * C > dst.size) {
    throw runError(`copyRows: rows [${srcRow}, ${srcRow + rows}) of ${shapeString(src.shape)} into row ${dstRow} of ${shapeString(dst.shape)} (C = ${C}) are out of range`);
  }
  if (rows > 0) encoderForCopy(gpu).copyBufferToBuffer(src.buffer, srcRow * C * 4, dst.buffer, dstRow * C * 4, rows * C * 4);
}

/** Records zeroing a whole tensor (any size: no binding, so no binding-size limit). */
export function zeroTensor(gpu: Gpu, t: Tensor): void {
  if (t.released) throw runError(`zeroTensor: ${t.label ?? "tensor"} ${shapeString(t.shape)} was released`);
  if (t.size > 0) encoderForCopy(gpu).clearBuffer(t.buffer, 0, t.size * 4);
}

/** A view with another shape over the same buffer (no copy). */
export function reshape(t: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) !== t.size) throw runError(`reshape: ${shapeString(t.shape)} into ${shapeString(shape)}: sizes differ`);
  return { ...t, shape: [...shape] };
}
