// `longrl errors EVAL.jsonl --data F.jsonl`: what an eval's wrong answers are (src/eval/errors.ts). The question
// it answers: does the model miss because it finds the wrong passage, or because it garbles what it copies?
import type { Argv, CommandModule } from "yargs";
import { loadRecords } from "../data/load.ts";
import { classifyErrors, formatErrors } from "../eval/errors.ts";
import type { Writer } from "./verify.ts";

export interface ErrorsArgs {
  eval: string;
  data: string;
  groupBy?: string;
  json: boolean;
}

export function runErrors(a: ErrorsArgs, out: Writer = process.stdout): void {
  const rows = classifyErrors(a.eval, loadRecords(a.data).records, a.data, a.groupBy);
  out.write(a.json ? `${JSON.stringify(rows)}\n` : formatErrors(rows, `samples of ${a.eval} by kind (wrong kinds in % of the wrong samples)`));
}

export const errorsCommand: CommandModule<{}, ErrorsArgs> = {
  command: "errors <eval>",
  describe: "what an eval's wrong answers are: none, absent from the document (and of those, the ones made of its own words), or another span of it; and whether the response cites the evidence passage",
  builder: (y: Argv<{}>) =>
    y
      .positional("eval", { type: "string", demandOption: true, describe: "eval/<label>.jsonl written by longrl eval or train" })
      .option("data", { type: "string", demandOption: true, describe: "the records the eval scored (JSONL; for the synthetic sets, `longrl data synth` with the config's settings)" })
      .option("group-by", { type: "string", describe: "one row per value of this record field, e.g. meta.relation" })
      .option("json", { type: "boolean", default: false, describe: "print the rows as JSON" }) as unknown as Argv<ErrorsArgs>,
  handler: (a) => runErrors(a),
};
