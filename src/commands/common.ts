// What several commands share: opening the GPU from the global --backend/--adapter flags and
// always releasing it (unmapping first, see src/gpu/context.ts), and printing JSON.
import { acquireGpu, releaseGpu, type Gpu } from "../gpu/index.ts";

export interface GpuArgs {
  backend?: string;
  adapter?: string;
}

/** Runs fn with the process's GPU and releases it afterwards, also on error. */
export async function withGpu<T>(args: GpuArgs, fn: (gpu: Gpu) => Promise<T>): Promise<T> {
  const gpu = await acquireGpu({ backend: args.backend, adapter: args.adapter });
  try {
    return await fn(gpu);
  } finally {
    releaseGpu(gpu);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The adapter in words, as benchmarks and run summaries name it. */
export function deviceName(gpu: Gpu): string {
  const a = gpu.summary;
  return `${a.description || a.device} (${a.backend}${a.isFallbackAdapter ? ", software" : ""})`;
}
