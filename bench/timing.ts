// GPU timing for benchmarks: warm up, pick an iteration count so one sample takes about
// targetMs, record that many launches into one submit, wait for the queue, take the median
// of several samples. Wall-clock around onSubmittedWorkDone (timestamp queries are not on
// every adapter); the per-submit overhead is amortized over the iterations.
import { type Gpu, sync } from "../src/gpu/index.ts";

export interface Timing {
  /** Median time of one launch, milliseconds. */
  ms: number;
  iters: number;
  samples: number;
}

export async function timeGpu(gpu: Gpu, launch: () => void, opts: { targetMs?: number; samples?: number } = {}): Promise<Timing> {
  const targetMs = opts.targetMs ?? 400;
  const samples = opts.samples ?? 5;
  launch(); // warm-up: pipeline build, first touch of memory
  await sync(gpu, "benchmark warm-up");
  let t = performance.now();
  launch();
  await sync(gpu, "benchmark");
  const once = Math.max(performance.now() - t, 0.01);
  const iters = Math.max(1, Math.min(1000, Math.round(targetMs / once)));
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    t = performance.now();
    for (let i = 0; i < iters; i++) launch();
    await sync(gpu, "benchmark");
    times.push((performance.now() - t) / iters);
  }
  times.sort((x, y) => x - y);
  return { ms: times[Math.floor(times.length / 2)]!, iters, samples };
}
