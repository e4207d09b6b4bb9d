// `longrl bench matmul [--sizes 256,512,1024,2048] [--json]`, `longrl bench kernels [--only a,b] [--json]`
// and `longrl bench model [--shape tiny|0.5b] [--prompt N --group G --response R] [--json]` (bench/).
// Each benchmark validates against the float64 twin first, then times; ratios are measured
// against a baseline on the same device in the same run.
import type { CommandModule, Argv } from "yargs";
import { benchMatmul, type MatmulBenchRow } from "../../bench/matmul.ts";
import { KERNEL_BENCHES, formatBenchRow } from "../../bench/kernels.ts";
import { benchModel } from "../../bench/model.ts";
import type { BenchRow } from "../../bench/types.ts";
import { usageError } from "../util/errors.ts";
import { deviceName, type GpuArgs, printJson, withGpu } from "./common.ts";

interface BenchArgs extends GpuArgs {
  what?: string;
  sizes?: string;
  only?: string;
  json?: boolean;
  shape?: string;
  layers?: number;
  vocab?: number;
  prompt?: number;
  group?: number;
  response?: number;
}

function parseSizes(text: string): number[] {
  const sizes = text.split(",").map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 16384)) {
    throw usageError(`--sizes ${text}: give comma-separated integers between 1 and 16384, e.g. 256,512,1024`);
  }
  return sizes;
}

function printRow(r: MatmulBenchRow): void {
  process.stdout.write(
    `${String(r.n).padStart(6)}  ${r.longrlMs.toFixed(2).padStart(10)}  ${r.longrlGflops.toFixed(2).padStart(8)}  ` +
      `${r.naiveMs.toFixed(2).padStart(10)}  ${r.naiveGflops.toFixed(2).padStart(8)}  ${r.ratio.toFixed(2).padStart(6)}x\n`,
  );
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: "bench <what>",
  describe: "benchmark GPU kernels (validated against the float64 twins first)",
  builder: (y: Argv<object>) =>
    y
      .positional("what", { choices: ["matmul", "kernels", "model"] as const, describe: "which benchmark" })
      .option("shape", { choices: ["tiny", "0.5b"] as const, default: "tiny", describe: "model: the demo's tiny model or a Qwen2.5-0.5B-shaped stack" })
      .option("layers", { type: "number", describe: "model: decoder layers (default: tiny 4, 0.5b 2)" })
      .option("vocab", { type: "number", describe: "model: vocabulary size (default: tiny 4096, 0.5b 151936)" })
      .option("prompt", { type: "number", default: 2048, describe: "model: prompt tokens" })
      .option("group", { type: "number", default: 8, describe: "model: samples per prompt (G)" })
      .option("response", { type: "number", default: 64, describe: "model: response tokens" })
      .option("only", { type: "string", describe: `kernels: comma-separated families (${KERNEL_BENCHES.map((b) => b.name).join(", ")})` })
      .option("sizes", { type: "string", default: "256,512,1024,2048", describe: "square sizes n for matmul" })
      .option("json", { type: "boolean", describe: "print JSON" }) as unknown as Argv<BenchArgs>,
  handler: async (args) => {
    if (args.what === "kernels") return benchKernels(args);
    if (args.what === "model") return benchModelCommand(args);
    const sizes = parseSizes(args.sizes ?? "256,512,1024,2048");
    await withGpu(args, async (gpu) => {
      const device = deviceName(gpu);
      if (!args.json) {
        process.stdout.write(`matmul f32, C = A·B, n x n; device: ${device}\n`);
        process.stdout.write(`     n   longrl ms  GFLOP/s    naive ms  GFLOP/s   ratio\n`);
      }
      const rows = await benchMatmul(gpu, sizes, args.json ? undefined : printRow);
      if (args.json) printJson({ benchmark: "matmul", device, rows });
    });
  },
};

async function benchKernels(args: BenchArgs): Promise<void> {
  const names = KERNEL_BENCHES.map((b) => b.name);
  const only = args.only?.split(",").map((s) => s.trim()) ?? names;
  for (const n of only) {
    if (!names.includes(n)) throw usageError(`--only ${n}: not a kernel family; use some of: ${names.join(", ")}`);
  }
  await withGpu(args, async (gpu) => {
    const device = deviceName(gpu);
    if (!args.json) process.stdout.write(`device: ${device}\n`);
    const rows: BenchRow[] = [];
    for (const b of KERNEL_BENCHES.filter((k) => only.includes(k.name))) {
      for (const r of await b.run(gpu)) {
        rows.push(r);
        if (!args.json) process.stdout.write(`${formatBenchRow(r)}\n`);
      }
    }
    if (args.json) printJson({ benchmark: "kernels", device, rows });
  });
}

async function benchModelCommand(args: BenchArgs): Promise<void> {
  for (const [flag, v, min] of [["--prompt", args.prompt, 2], ["--group", args.group, 1], ["--response", args.response, 2], ["--layers", args.layers, 1], ["--vocab", args.vocab, 2]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw usageError(`${flag} ${v}: give an integer >= ${min}`);
  }
  await withGpu(args, async (gpu) => {
    const device = deviceName(gpu);
    if (!args.json) process.stdout.write(`device: ${device}\n`);
    const opts = { shape: (args.shape ?? "tiny") as "tiny" | "0.5b", layers: args.layers, vocab: args.vocab, prompt: args.prompt ?? 2048, group: args.group ?? 8, response: args.response ?? 64 };
    const rows = await benchModel(gpu, opts, args.json ? undefined : (r) => process.stdout.write(`${formatBenchRow(r)}\n`));
    if (args.json) printJson({ benchmark: "model", device, options: opts, rows });
  });
}
