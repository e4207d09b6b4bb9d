// `longrl selfcheck [--json]`: the adapter, then every kernel against its float64 twin.
// Exit 1 when any kernel is off.
import type { CommandModule } from "yargs";
import { checkKernels } from "../check.ts";
import { runError } from "../util/errors.ts";
import { infoReport } from "./info.ts";
import { type GpuArgs, printJson, withGpu } from "./common.ts";

interface SelfcheckArgs extends GpuArgs {
  json?: boolean;
}

export const selfcheckCommand: CommandModule<object, SelfcheckArgs> = {
  command: "selfcheck",
  describe: "check every GPU kernel against its float64 CPU twin",
  builder: (y) => y.option("json", { type: "boolean", describe: "print JSON" }),
  handler: async (args) => {
    await withGpu(args, async (gpu) => {
      const t0 = performance.now();
      const results = await checkKernels(gpu);
      const seconds = (performance.now() - t0) / 1000;
      const failed = results.filter((r) => !r.ok);
      if (args.json) {
        printJson({ adapter: infoReport(gpu).adapter, seconds, results });
      } else {
        const a = gpu.summary;
        process.stdout.write(`adapter: ${a.description || a.device} (${a.backend}${a.isFallbackAdapter ? ", software" : ""})\n`);
        for (const r of results) {
          process.stdout.write(`  ${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(28)} error/tolerance ${r.worst.toFixed(3)}\n`);
        }
        process.stdout.write(`${results.length - failed.length}/${results.length} kernel checks passed in ${seconds.toFixed(1)} s\n`);
      }
      if (failed.length) throw runError(`selfcheck: ${failed.length} kernel check(s) failed: ${failed.map((r) => r.name).join("; ")}`);
    });
  },
};
