// `longrl bench kernels`: every kernel family, validated against its float64 twin first, then
// timed; each row's ratio is against a baseline measured on the same device in the same run.
import type { Gpu } from "../src/gpu/index.ts";
import { benchMatmul, benchNarrowMatmul, benchWeightGradMatmul } from "./matmul.ts";
import { benchTfjsMatmul } from "./tfjs.ts";
import { benchOptimizer } from "./optimizer.ts";
import { benchLayers } from "./layers.ts";
import { benchLogprobs } from "./logprobs.ts";
import { benchAttention, benchDecode } from "./attention.ts";
import type { BenchRow } from "./types.ts";

export interface KernelBench {
  name: string;
  run(gpu: Gpu): Promise<BenchRow[]>;
}

async function matmulRows(gpu: Gpu): Promise<BenchRow[]> {
  const sizes = [1024];
  const ours = await benchMatmul(gpu, sizes);
  const rows: BenchRow[] = [];
  for (const r of ours) {
    rows.push({
      kernel: "matmul",
      shape: `n=${r.n}`,
      ms: r.longrlMs,
      rate: r.longrlGflops,
      unit: "GFLOP/s",
      baseline: "naive WGSL",
      baselineMs: r.naiveMs,
      ratio: r.ratio,
    });
  }
  const narrow = await benchNarrowMatmul(gpu);
  if (narrow) rows.push(narrow);
  const weightGrad = await benchWeightGradMatmul(gpu);
  if (weightGrad) rows.push(weightGrad);
  const tf = await benchTfjsMatmul(gpu, sizes);
  if (typeof tf === "string") {
    rows.push({ kernel: "matmul", shape: `n=${sizes[0]}`, ms: ours[0]!.longrlMs, rate: ours[0]!.longrlGflops, unit: "GFLOP/s", notes: tf });
  } else {
    for (const t of tf) {
      const o = ours.find((r) => r.n === t.n)!;
      rows.push({ kernel: "matmul", shape: `n=${t.n}`, ms: o.longrlMs, rate: o.longrlGflops, unit: "GFLOP/s", baseline: "tfjs-backend-webgpu matMul", baselineMs: t.ms, ratio: t.ms / o.longrlMs });
    }
  }
  return rows;
}

export const KERNEL_BENCHES: KernelBench[] = [
  { name: "matmul", run: matmulRows },
  { name: "attention", run: (gpu) => benchAttention(gpu) },
  { name: "decode", run: benchDecode },
  { name: "layers", run: benchLayers },
  { name: "logprobs", run: (gpu) => benchLogprobs(gpu) },
  { name: "optimizer", run: benchOptimizer },
];

export function formatBenchRow(r: BenchRow): string {
  const ratio = r.ratio !== undefined ? `${r.ratio.toFixed(2)}x vs ${r.baseline} (${r.baselineMs!.toFixed(2)} ms)` : "";
  return `${r.kernel.padEnd(22)} ${r.shape.padEnd(26)} ${r.ms.toFixed(2).padStart(10)} ms ${r.rate.toFixed(2).padStart(9)} ${r.unit.padEnd(8)} ${ratio}${r.notes ? `  ${r.notes}` : ""}`;
}
