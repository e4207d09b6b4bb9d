// The judge backend switch: none → no judge, openai → HTTP client, local → a model directory on this GPU.
// Bad options fail here, when the run starts, never in the middle of training.
import type { Gpu } from "../gpu/index.ts";
import { runError } from "../util/errors.ts";
import type { JudgeOptions } from "./config.ts";
import type { Judge } from "./judge.ts";
import { createLocalJudge } from "./local.ts";
import { createOpenAIJudge } from "./openai.ts";

/** The judge for the options, or null for backend "none". The local judge loads its model onto `gpu`. */
export async function createJudge(opts: JudgeOptions, gpu?: Gpu): Promise<Judge | null> {
  if (opts.backend === "none") return null;
  if (opts.backend === "local") {
    if (!gpu) throw runError("judge backend 'local' needs the GPU device (internal: createJudge was called without one)");
    return createLocalJudge(gpu, opts);
  }
  return createOpenAIJudge(opts);
}
