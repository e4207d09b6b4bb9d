// Kernel profiling: while a profile is open, every dispatch runs in a compute pass of its own with
// timestamp writes at the pass's start and end, named by its op and entry point. Each flush
// resolves its timestamps into a readback buffer from the recorder's staging pool, read once the
// work has run (at the next sync or readback, or when the profile closes), so nothing waits early.
// A pass per dispatch costs time of its own (20 of the demo's SFT steps took 7% longer profiled;
// RL's many small decode kernels much more: README), so the shares are what to read. Needs the
// adapter's 'timestamp-query' feature; Dawn's timestamp quantization is off for this process
// (context.ts).
import type { Gpu } from "./context.ts";
import { flush, giveStaging, takeStaging } from "./recorder.ts";
import { runError } from "../util/errors.ts";

/** Passes per query set; a flush happens early when it fills. */
export const PROFILE_CAPACITY = 2048;

interface Pending {
  names: string[];
  readback: GPUBuffer;
}

export interface Profile {
  querySet: GPUQuerySet;
  resolve: GPUBuffer;
  /** Names of the passes recorded since the last flush, in order. */
  names: string[];
  pending: Pending[];
  /** Sums of the batches read so far, by name. */
  totals: Map<string, OpTime>;
  /** The stage being timed ("sft", "eval", ...) and the part of it ("forward", "optimizer", ...): each name's prefix. */
  stage: string;
  part: string;
}

export interface OpTime {
  /** "stage part op/entry", without the empty ones. */
  name: string;
  count: number;
  ms: number;
}

export function canProfile(gpu: Gpu): boolean {
  return gpu.features.includes("timestamp-query");
}

/** Starts timing every dispatch. Throws when the adapter has no timestamp queries. */
export function startProfile(gpu: Gpu): void {
  if (!canProfile(gpu)) throw runError(`kernel profiling needs the adapter's 'timestamp-query' feature, which ${gpu.summary.description || gpu.summary.device} does not offer`);
  if (gpu.recorder.profile) throw runError("a kernel profile is already open");
  const querySet = gpu.device.createQuerySet({ label: "longrl.profile", type: "timestamp", count: 2 * PROFILE_CAPACITY });
  const resolve = gpu.device.createBuffer({ label: "longrl.profile.resolve", size: 16 * PROFILE_CAPACITY, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  gpu.recorder.profile = { querySet, resolve, names: [], pending: [], totals: new Map(), stage: "", part: "" };
}

/** Names the stage the following dispatches belong to (until the next call); "" for none. */
export function profileStage(gpu: Gpu, stage: string): void {
  if (gpu.recorder.profile) gpu.recorder.profile.stage = stage;
}

/** Names the part of the stage the following dispatches belong to ("forward", "backward", ...). */
export function profilePart(gpu: Gpu, part: string): void {
  if (gpu.recorder.profile) gpu.recorder.profile.part = part;
}

/** The timestamp writes for the next dispatch's pass, or undefined when not profiling. */
export function profilePass(gpu: Gpu, op: string, entry: string): GPUComputePassTimestampWrites | undefined {
  const p = gpu.recorder.profile;
  if (!p) return undefined;
  const i = p.names.length;
  p.names.push([p.stage, p.part, `${op}/${entry}`].filter((x) => x !== "").join(" "));
  return { querySet: p.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
}

/** True when the query set is full: the recorder flushes before the next profiled pass. */
export function profileFull(gpu: Gpu): boolean {
  return (gpu.recorder.profile?.names.length ?? 0) >= PROFILE_CAPACITY;
}

/** Called by flush() with the open encoder: resolves this batch's timestamps for reading later. */
export function profileResolve(gpu: Gpu, encoder: GPUCommandEncoder): void {
  const p = gpu.recorder.profile;
  if (!p || p.names.length === 0) return;
  const n = p.names.length;
  const readback = takeStaging(gpu, 16 * n);
  encoder.resolveQuerySet(p.querySet, 0, 2 * n, p.resolve, 0);
  encoder.copyBufferToBuffer(p.resolve, 0, readback, 0, 16 * n);
  p.pending.push({ names: p.names, readback });
  p.names = [];
}

/** Reads the timestamps of every batch resolved so far into the totals. Call only once they have run (after onSubmittedWorkDone). */
export async function drainProfile(gpu: Gpu): Promise<void> {
  const p = gpu.recorder.profile;
  if (p) await drain(gpu, p);
}

async function drain(gpu: Gpu, p: Profile): Promise<void> {
  for (const batch of p.pending.splice(0)) {
    await batch.readback.mapAsync(GPUMapMode.READ);
    gpu.mapped.add(batch.readback);
    try {
      const t = new BigUint64Array(batch.readback.getMappedRange());
      batch.names.forEach((name, i) => {
        const ns = t[2 * i + 1]! > t[2 * i]! ? Number(t[2 * i + 1]! - t[2 * i]!) : 0;
        const row = p.totals.get(name) ?? { name, count: 0, ms: 0 };
        row.count++;
        row.ms += ns / 1e6;
        p.totals.set(name, row);
      });
    } finally {
      gpu.mapped.delete(batch.readback);
      batch.readback.unmap();
      giveStaging(gpu, batch.readback.size, batch.readback);
    }
  }
}

/** Closes the profile: waits for the work, reads the rest of the timestamps and returns the sums by name, largest first. */
export async function stopProfile(gpu: Gpu): Promise<OpTime[]> {
  const p = gpu.recorder.profile;
  if (!p) throw runError("no kernel profile is open");
  flush(gpu);
  await gpu.device.queue.onSubmittedWorkDone();
  await drain(gpu, p);
  gpu.recorder.profile = undefined;
  p.querySet.destroy();
  p.resolve.destroy();
  return [...p.totals.values()].sort((a, b) => b.ms - a.ms);
}

/** The profile as text: time by stage and part, then the `top` costliest kernels, each with its share of all kernel time. */
export function formatProfile(rows: readonly OpTime[], top = 25): string {
  const total = rows.reduce((t, r) => t + r.ms, 0);
  const pct = (ms: number) => `${((100 * ms) / Math.max(total, 1e-9)).toFixed(1).padStart(5)}%`;
  const parts = new Map<string, OpTime>();
  for (const r of rows) {
    const key = r.name.split(" ").slice(0, -1).join(" ") || "(none)";
    const p = parts.get(key) ?? { name: key, count: 0, ms: 0 };
    p.count += r.count;
    p.ms += r.ms;
    parts.set(key, p);
  }
  const lines = [`kernel time ${(total / 1000).toFixed(2)} s in ${rows.reduce((n, r) => n + r.count, 0)} dispatches`];
  const table = (list: readonly OpTime[]) => {
    const w = Math.max(...list.map((r) => r.name.length), 4);
    for (const r of list) lines.push(`  ${r.name.padEnd(w)}  ${(r.ms / 1000).toFixed(3).padStart(8)} s ${pct(r.ms)}  ${String(r.count).padStart(7)} × ${((1000 * r.ms) / r.count).toFixed(0).padStart(6)} µs`);
  };
  lines.push("by stage and part:");
  table([...parts.values()].sort((a, b) => b.ms - a.ms));
  lines.push(`costliest kernels (of ${rows.length}):`);
  table(rows.slice(0, top));
  return lines.join("\n");
}
