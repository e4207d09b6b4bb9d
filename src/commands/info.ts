// `longrl info [--json]`: version, Bun, the adapter and backend, granted limits and features.
import type { CommandModule } from "yargs";
import type { Gpu } from "../gpu/index.ts";
import { VERSION } from "../version.ts";
import { type GpuArgs, printJson, withGpu } from "./common.ts";

interface InfoArgs extends GpuArgs {
  json?: boolean;
}

export function infoReport(gpu: Gpu) {
  return {
    version: VERSION,
    bun: Bun.version,
    adapter: {
      backend: gpu.summary.backend,
      vendor: gpu.summary.vendor,
      architecture: gpu.summary.architecture,
      description: gpu.summary.description,
      device: gpu.summary.device,
      isFallbackAdapter: gpu.summary.isFallbackAdapter,
    },
    limits: gpu.limits,
    features: gpu.features,
  };
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: "info",
  describe: "show the version, the GPU adapter, its limits and features",
  builder: (y) => y.option("json", { type: "boolean", describe: "print JSON" }),
  handler: async (args) => {
    await withGpu(args, async (gpu) => {
      const r = infoReport(gpu);
      if (args.json) return printJson(r);
      const lines = [
        `longrl ${r.version} (bun ${r.bun})`,
        `adapter   ${r.adapter.description || r.adapter.device || "(unnamed)"}`,
        `          vendor ${r.adapter.vendor || "?"}, architecture ${r.adapter.architecture || "?"}, backend ${r.adapter.backend}` +
          (r.adapter.isFallbackAdapter ? ", software (CPU) adapter" : ""),
        `features  ${r.features.join(", ") || "(none)"}`,
        "limits",
        ...Object.entries(r.limits).map(([k, v]) => `  ${k.padEnd(42)} ${v}`),
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
  },
};
