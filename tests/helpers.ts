// Shared test helpers: one GPU context per test process, seeded random inputs, NaN poisoning,
// and comparisons that name the tensor, the index and both values on failure.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireGpu, type Gpu, type Tensor, createTensor, writeTensor } from "../src/gpu/index.ts";
import { randomFloats } from "../src/util/rng.ts";

let gpuPromise: Promise<Gpu> | undefined;

/** The process's GPU (bun runs all test files in one process, so they share it). */
export function testGpu(): Promise<Gpu> {
  gpuPromise ??= acquireGpu({});
  return gpuPromise;
}

/** Uniform values in [-scale, scale), seeded. */
export const randomArray = randomFloats;

/** A tensor filled with NaN, so that an element the kernel forgets to write fails the comparison. */
export function poisoned(gpu: Gpu, shape: number[], label?: string): Tensor {
  const t = createTensor(gpu, shape, "f32", label);
  writeTensor(gpu, t, new Float32Array(t.size).fill(Number.NaN));
  return t;
}

/** Index of a flat position as [i, j, ...] for messages. */
function unflatten(i: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]!);
    i = Math.floor(i / shape[d]!);
  }
  return `[${idx.join(",")}]`;
}

/**
 * Throws on the first element with |got - want| > atol + rtol·|want| (or a NaN), naming it:
 * `matmul.C[1,36]: gpu 0.01234 ref 0.01301`.
 */
export function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, shape: readonly number[], atol: number, rtol: number): void {
  if (got.length !== want.length) throw new Error(`${name}: length ${got.length}, want ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const err = Math.abs(g - w);
    if (!(err <= atol + rtol * Math.abs(w))) {
      throw new Error(`${name}${unflatten(i, shape)}: gpu ${g} ref ${w} (|diff| ${err.toExponential(3)} > ${atol} + ${rtol}·|ref|)`);
    }
  }
}

/** Fresh directories under the system temp dir; `removeAll` (for afterAll) deletes them. */
export function tempDirs(): { make(prefix: string): string; removeAll(): void } {
  const made: string[] = [];
  return {
    make: (prefix) => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
    removeAll: () => {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Wall-clock fields of metrics.jsonl: they differ between runs by nature. */
const TIMING_KEYS = ["seconds", "tokens_per_s", "rollout_tokens_per_s", "rollout_seconds", "update_seconds"];

/** A run directory's metrics.jsonl lines without the wall-clock fields (for comparing runs). */
export function runMetrics(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    for (const k of TIMING_KEYS) delete o[k];
    return o;
  });
}
