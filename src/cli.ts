#!/usr/bin/env bun
// longrl's command line: the only module that parses flags and decides exit codes.
// Each command lives in src/commands/NAME.ts and exports a yargs CommandModule; they are
// imported statically here so that `bun build --compile` bundles all of them.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { LongrlError, usageError } from "./util/errors.ts";
import { VERSION } from "./version.ts";
import { infoCommand } from "./commands/info.ts";
import { benchCommand } from "./commands/bench.ts";
import { selfcheckCommand } from "./commands/selfcheck.ts";
import { verifyCommand } from "./commands/verify.ts";
import { dataCommand } from "./commands/data.ts";
import { tokenizeCommand } from "./commands/tokenize.ts";
import { scoreCommand } from "./commands/score.ts";
import { generateCommand } from "./commands/generate.ts";
import { compareCommand } from "./commands/compare.ts";
import { errorsCommand } from "./commands/errors.ts";
import { evalCommand, rlCommand, sftCommand, trainCommand } from "./commands/train.ts";

export async function main(argv: string[]): Promise<number> {
  const parser = yargs(argv)
    .scriptName("longrl")
    .version(VERSION)
    .usage("$0 <command> [options]\n\nLong-context reasoning RL (QwenLong-L1 recipe) on WebGPU.")
    .option("backend", {
      type: "string",
      describe: "WebGPU backend: vulkan, metal, d3d12, opengles (default: Dawn's choice; env LONGRL_BACKEND)",
      global: true,
    })
    .option("adapter", { type: "string", describe: "adapter name to use (a wrong name lists them)", global: true })
    .command(infoCommand)
    .command(selfcheckCommand)
    .command(benchCommand)
    .command(verifyCommand)
    .command(dataCommand)
    .command(tokenizeCommand)
    .command(scoreCommand)
    .command(generateCommand)
    .command(trainCommand)
    .command(sftCommand)
    .command(rlCommand)
    .command(evalCommand)
    .command(compareCommand)
    .command(errorsCommand)
    .demandCommand(1, "name a command; `longrl --help` lists them")
    .strict()
    .recommendCommands()
    .help()
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .exitProcess(false)
    .fail((msg, err) => {
      // Throwing stops yargs before the command's handler runs (with exitProcess(false) it would go on).
      throw err ?? usageError(msg.startsWith("Did you mean") ? `unknown command ${JSON.stringify(argv[0])}. ${msg}` : msg);
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    return reportError(err);
  }
  return process.exitCode === undefined ? 0 : Number(process.exitCode);
}

function reportError(err: unknown): number {
  if (err instanceof LongrlError) {
    process.stderr.write(`longrl: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`longrl: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.LONGRL_DEBUG) process.stderr.write(`${e?.stack ?? ""}\n`);
  else process.stderr.write("longrl: (set LONGRL_DEBUG=1 for the stack trace; please report it)\n");
  return 1;
}

if (import.meta.main) {
  const code = await main(hideBin(process.argv));
  process.exit(code);
}
