// One row of `longrl bench kernels`: a kernel's time and rate, and its ratio to a baseline
// measured on the same device in the same run.
export interface BenchRow {
  kernel: string;
  /** Human-readable problem size: "n=1024", "T=4096 H=4 D=64". */
  shape: string;
  ms: number;
  /** Rate in `unit` (useful work / time). */
  rate: number;
  unit: "GFLOP/s" | "GB/s" | "tokens/s";
  baseline?: string;
  baselineMs?: number;
  /** baselineMs / ms: how many times faster than the baseline. */
  ratio?: number;
  /** Extra facts: peak bytes allocated, etc. */
  notes?: string;
}
