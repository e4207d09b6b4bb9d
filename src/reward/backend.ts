// The judge backend switch: none → no judge, openai → HTTP client, local → not available until the model lands.
// Bad options fail here, when the run starts, never in the middle of training.
import { runError } from "../util/errors.ts";
import type { JudgeOptions } from "./config.ts";
import type { Judge } from "./judge.ts";
import { createOpenAIJudge } from "./openai.ts";

/** The judge for the options, or null for backend "none". */
export function createJudge(opts: JudgeOptions): Judge | null {
  if (opts.backend === "none") return null;
  if (opts.backend === "local") {
    throw runError(
      "judge backend 'local' is not available yet: it arrives with the model (issue 4); use --judge openai or none",
    );
  }
  return createOpenAIJudge(opts);
}
