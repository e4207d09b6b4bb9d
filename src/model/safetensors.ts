// safetensors (huggingface/safetensors format): an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}} padded with
// spaces to 8 bytes, then the tensors' bytes back to back. Reads F32/F16/BF16/F64 into f32 (single
// file, or shards listed in model.safetensors.index.json), one byte range at a time straight to the
// GPU, so the model is never held twice in host memory; writes F32 or BF16, streamed tensor by
// tensor. Name mapping and checkpoint directories live in checkpoint.ts, not here.
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type Gpu, type Tensor, readTensor, shapeString, writeTensor, writeTensorAt } from "../gpu/index.ts";
import { runError, usageError } from "../util/errors.ts";

export type StDtype = "F32" | "F16" | "BF16" | "F64";
const BYTES: Record<StDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
export const INDEX_FILE = "model.safetensors.index.json";
export const WEIGHTS_FILE = "model.safetensors";

/** One tensor of a (possibly sharded) checkpoint: where its bytes are and how to read them. */
export interface StTensor {
  name: string;
  dtype: StDtype;
  shape: number[];
  file: string;
  /** Absolute byte offsets in `file`. */
  start: number;
  end: number;
}

/** What openSafetensors found: the tensors by name, and the path to name in messages. */
export interface StSource {
  path: string;
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

// ---- dtype conversions (exact, bit-level) ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f32 → bf16 bits, round to nearest even (torch's .to(torch.bfloat16)); NaN → 0x7fc0 as torch. */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return Math.floor((bits + 0x7fff + ((bits >>> 16) & 1)) / 65536) & 0xffff;
}

export function bf16BitsToF32(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

/** IEEE half bits → f32 (subnormals, inf and NaN included). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes `count` elements of little-endian `dtype` bytes into out[0..count). */
function decode(bytes: Uint8Array, dtype: StDtype, out: Float32Array, count: number): void {
  const buf = bytes.buffer;
  const off = bytes.byteOffset;
  if (dtype === "F32") out.set(new Float32Array(buf, off, count));
  else if (dtype === "F64") {
    const d = new Float64Array(buf, off, count);
    for (let i = 0; i < count; i++) out[i] = d[i]!;
  } else {
    const h = new Uint16Array(buf, off, count);
    const o = new Uint32Array(out.buffer, out.byteOffset, count);
    if (dtype === "BF16") for (let i = 0; i < count; i++) o[i] = h[i]! << 16;
    else for (let i = 0; i < count; i++) out[i] = f16BitsToF32(h[i]!);
  }
}

// ---- reading ----

/** The header of one .safetensors file, checked: offsets inside the file, sizes matching shapes. */
export function readHeader(file: string): StSource {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    throw usageError(`${file}: cannot open the safetensors file`);
  }
  try {
    const size = fstatSync(fd).size;
    const lenBuf = new Uint8Array(8);
    if (size < 8 || readSync(fd, lenBuf, 0, 8, 0) !== 8) throw usageError(`${file}: too short to be a safetensors file`);
    const n = Number(new DataView(lenBuf.buffer).getBigUint64(0, true));
    if (n > 100_000_000 || 8 + n > size) throw usageError(`${file}: header length ${n} does not fit the file (${size} bytes); not a safetensors file?`);
    const hb = new Uint8Array(n);
    readSync(fd, hb, 0, n, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(hb));
    } catch {
      throw usageError(`${file}: the header is not valid JSON`);
    }
    const dataStart = 8 + n;
    const tensors = new Map<string, StTensor>();
    let metadata: Record<string, string> = {};
    for (const [name, v] of Object.entries(header)) {
      if (name === "__metadata__") {
        metadata = v as Record<string, string>;
        continue;
      }
      const e = v as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
      if (!e.dtype || !(e.dtype in BYTES)) throw usageError(`${file}: tensor ${name} has dtype ${e.dtype}; longrl reads F32, F16, BF16 and F64 weights`);
      const dtype = e.dtype as StDtype;
      const shape = e.shape ?? [];
      const [b, en] = e.data_offsets ?? [-1, -1];
      const want = shape.reduce((a, x) => a * x, 1) * BYTES[dtype];
      if (!(b >= 0 && en - b === want && dataStart + en <= size)) {
        throw usageError(`${file}: tensor ${name} ${dtype}${shapeString(shape)} has data_offsets [${b}, ${en}] (need ${want} bytes inside the file); the file is truncated or corrupt`);
      }
      tensors.set(name, { name, dtype, shape, file, start: dataStart + b, end: dataStart + en });
    }
    return { path: file, tensors, metadata };
  } finally {
    closeSync(fd);
  }
}

/**
 * A single .safetensors file, a model.safetensors.index.json, or a directory holding either
 * (the index wins, as in transformers). Only headers are read here.
 */
export function openSafetensors(path: string): StSource {
  if (existsSync(path) && statSync(path).isDirectory()) {
    if (existsSync(join(path, INDEX_FILE))) return openSafetensors(join(path, INDEX_FILE));
    if (existsSync(join(path, WEIGHTS_FILE))) return readHeader(join(path, WEIGHTS_FILE));
    throw usageError(`${path}: no ${WEIGHTS_FILE} or ${INDEX_FILE}; is this a Hugging Face model directory?`);
  }
  if (!path.endsWith(".json")) return readHeader(path);
  let index: { metadata?: Record<string, string>; weight_map?: Record<string, string> };
  try {
    index = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw usageError(`${path}: cannot read the safetensors index (JSON with a weight_map)`);
  }
  if (!index.weight_map || typeof index.weight_map !== "object") throw usageError(`${path}: no weight_map`);
  const dir = path.slice(0, Math.max(0, path.lastIndexOf("/")));
  const shards = new Map<string, StSource>();
  const tensors = new Map<string, StTensor>();
  for (const [name, shard] of Object.entries(index.weight_map)) {
    let src = shards.get(shard);
    if (!src) shards.set(shard, (src = readHeader(dir ? join(dir, shard) : shard)));
    const t = src.tensors.get(name);
    if (!t) throw usageError(`${path}: tensor ${name} is mapped to ${shard}, which does not contain it`);
    tensors.set(name, t);
  }
  for (const src of shards.values()) {
    for (const name of src.tensors.keys()) {
      if (!tensors.has(name)) throw usageError(`${src.path}: tensor ${name} is not in ${path}'s weight_map; the index and shards disagree`);
    }
  }
  return { path, tensors, metadata: (index.metadata as Record<string, string>) ?? {} };
}

/** Elements per read-and-upload chunk (64 MiB of f32): bounds host memory for huge tensors. */
const CHUNK = 1 << 24;

/** Reads a tensor's elements [first, first+count) as f32 (into `out` when given). */
export function readF32(t: StTensor, first = 0, count = (t.end - t.start) / BYTES[t.dtype], out?: Float32Array): Float32Array {
  const bpe = BYTES[t.dtype];
  const dst = out ?? new Float32Array(count);
  const raw = t.dtype === "F32" ? new Uint8Array(dst.buffer, dst.byteOffset, count * 4) : new Uint8Array(count * bpe);
  const fd = openSync(t.file, "r");
  try {
    let done = 0;
    while (done < raw.length) {
      const got = readSync(fd, raw, done, raw.length - done, t.start + first * bpe + done);
      if (got <= 0) throw runError(`${t.file}: unexpected end of file reading tensor ${t.name}`);
      done += got;
    }
  } finally {
    closeSync(fd);
  }
  if (t.dtype !== "F32") decode(raw, t.dtype, dst, count);
  return dst;
}

/** Uploads one stored tensor into a GPU tensor of the same element count, `chunk` elements at a time. */
export function uploadTensor(gpu: Gpu, t: StTensor, dst: Tensor, chunk = CHUNK): void {
  const n = (t.end - t.start) / BYTES[t.dtype];
  if (n !== dst.size) throw usageError(`${t.file}: tensor ${t.name} has ${n} elements, the model needs ${dst.size}`);
  if (n <= chunk) {
    writeTensor(gpu, dst, readF32(t));
    return;
  }
  const buf = new Float32Array(chunk);
  for (let first = 0; first < n; first += chunk) {
    const count = Math.min(chunk, n - first);
    writeTensorAt(gpu, dst, first, readF32(t, first, count, buf.subarray(0, count)));
  }
}

// ---- writing ----

export type SaveDtype = "F32" | "BF16";

/** One tensor to write: its data is asked for only when its turn comes (one tensor in memory). */
export interface StWriteEntry {
  name: string;
  shape: readonly number[];
  data: () => Float32Array | Promise<Float32Array>;
}

/** The header bytes (length prefix + JSON padded with spaces to 8 bytes) for these entries. */
export function buildHeader(entries: readonly { name: string; shape: readonly number[] }[], dtype: SaveDtype, metadata: Record<string, string> = { format: "pt" }): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const e of entries) {
    if (e.name in header) throw runError(`safetensors: tensor ${e.name} is listed twice`);
    const bytes = e.shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    header[e.name] = { dtype, shape: [...e.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** Encodes f32 values as `dtype` little-endian bytes. */
export function encode(values: Float32Array, dtype: SaveDtype): Uint8Array {
  if (dtype === "F32") return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const h = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) h[i] = f32ToBf16Bits(values[i]!);
  return new Uint8Array(h.buffer);
}

/** Writes a .safetensors file, tensor by tensor, and fsyncs it. */
export async function writeSafetensors(file: string, entries: readonly StWriteEntry[], dtype: SaveDtype, metadata?: Record<string, string>): Promise<void> {
  const fd = openSync(file, "w");
  try {
    writeAll(fd, buildHeader(entries, dtype, metadata));
    for (const e of entries) {
      const values = await e.data();
      const want = e.shape.reduce((a, b) => a * b, 1);
      if (values.length !== want) throw runError(`${file}: tensor ${e.name} has ${values.length} values, its shape ${shapeString(e.shape)} needs ${want}`);
      writeAll(fd, encode(values, dtype));
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** Writes GPU tensors (read back one at a time) as a .safetensors file. */
export async function saveTensors(gpu: Gpu, file: string, items: readonly { name: string; tensor: Tensor }[], dtype: SaveDtype = "F32"): Promise<void> {
  const entries = items.map(({ name, tensor }) => ({ name, shape: tensor.shape, data: async () => (await readTensor(gpu, tensor)) as Float32Array }));
  await writeSafetensors(file, entries, dtype);
}

/**
 * Loads named tensors from a source into GPU tensors, checking that each exists with the right
 * shape and that the source holds nothing else (except names `ignore` accepts).
 */
export function loadTensors(gpu: Gpu, src: StSource, items: readonly { name: string; tensor: Tensor }[], ignore: (name: string) => boolean = () => false): void {
  const wanted = new Set(items.map((i) => i.name));
  for (const name of src.tensors.keys()) {
    if (!wanted.has(name) && !ignore(name)) throw usageError(`${src.path}: unexpected tensor ${name}; the config does not have it (wrong config.json, or another architecture)`);
  }
  for (const { name, tensor } of items) {
    const t = src.tensors.get(name);
    if (!t) throw usageError(`${src.path}: tensor ${name} is missing`);
    if (shapeString(t.shape) !== shapeString(tensor.shape)) {
      throw usageError(`${t.file}: tensor ${name} has shape ${shapeString(t.shape)}, the config needs ${shapeString(tensor.shape)}`);
    }
  }
  for (const { name, tensor } of items) uploadTensor(gpu, src.tensors.get(name)!, tensor);
}
