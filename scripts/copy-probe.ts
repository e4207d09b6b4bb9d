// Demo diagnostic: what a checkpoint of the copy stage has learnt to copy. On a fixed held-out set (the 32 copy lists
// and 32 recitations that pretraining holds out for seed 7777, tokenized with each run's own vocabulary), it prints
// the mean loss (nats a token) of:
//   nameFirst  the first token of a person's name in a recitation line "The mayor of X is First Last." or "... was
//              founded by First Last." (it follows "is" / "by", which every such line shares)
//   nameLast   the first token of the last name in those lines
//   itemFirst  the first token of each copy-list item after the first (it follows ", ")
//   itemRest   the copy lists' other tokens
//   reciteAll  every token of the recitations
// (README, "The demo run": the RoPE screen and seed 20's first names.)
//   bun scripts/copy-probe.ts RUN STEP [RUN STEP ...]     e.g. runs/I19 1000
import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadRunConfig } from "../src/config/load.ts";
import { acquireGpu, readTensor, releaseGpu, releaseTensor } from "../src/gpu/index.ts";
import { packGroups } from "../src/model/batch.ts";
import { loadCheckpoint } from "../src/model/checkpoint.ts";
import { modelForward, releaseBatch, releaseForward, uploadBatch } from "../src/model/forward.ts";
import { releaseParams } from "../src/model/params.ts";
import { prepareData, vocabPath } from "../src/train/data.ts";

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  console.error("usage: bun scripts/copy-probe.ts RUN STEP [RUN STEP ...] (a run directory of a fresh model with pretrain on, and a step it kept)");
  process.exit(2);
}
for (let k = 0; k < args.length; k += 2) {
  const ckpt = join(args[k]!, "checkpoints", `step-${args[k + 1]}`);
  if (!existsSync(join(args[k]!, "config.yaml")) || !existsSync(ckpt)) {
    console.error(`copy-probe: ${args[k]} has no config.yaml or no ${ckpt}; give a run directory and a step it kept`);
    process.exit(2);
  }
}

const mean = (a: readonly number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : Number.NaN);
const NAME_LINES = [/The mayor of [^\n]*? is (\S+) (\S+)\./g, /was founded by (\S+) (\S+)\./g];
const gpu = await acquireGpu({});
try {
  for (let k = 0; k < args.length; k += 2) {
    const run = args[k]!;
    // Data of seed 7777 (the held-out lists and recitations come from pretrain.dataSeed, else the run seed); few training records: only the held-out ones are scored.
    const sets = ["seed=7777", "pretrain.dataSeed=7777", "pretrain.enable=true", "pretrain.records=8", "pretrain.recite.records=8", "data.synth.n=8", "data.sftSynth.n=8"];
    const cfg = loadRunConfig({ file: join(run, "config.yaml"), sets });
    const data = prepareData(cfg, vocabPath(run));
    const text = (ids: readonly number[]) => new TextDecoder().decode(data.tokenizer.decodeBytes([...ids]));
    const { config, params } = await loadCheckpoint(gpu, join(run, "checkpoints", `step-${args[k + 1]}`));
    const acc: Record<string, number[]> = { nameFirst: [], nameLast: [], itemFirst: [], itemRest: [], reciteAll: [] };
    for (const ex of data.pretrainEval) {
      const batch = uploadBatch(gpu, config, packGroups([{ prompt: ex.promptIds, responses: [ex.goldIds] }]));
      const res = modelForward(gpu, config, params, batch);
      const nll = Array.from((await readTensor(gpu, res.logp)) as Float32Array, (x) => -x); // one per response token
      releaseForward(gpu, res.state);
      for (const t of [res.logp, res.entropy]) releaseTensor(gpu, t);
      releaseBatch(gpu, batch);
      const starts = ex.goldIds.map((_, i) => text(ex.goldIds.slice(0, i)).length); // where each token starts in the response
      const response = text(ex.goldIds);
      const tokenAt = (c: number) => starts.findLastIndex((s) => s <= c);
      if (ex.record.dataSource === "synth_recite") {
        acc.reciteAll!.push(...nll);
        for (const re of NAME_LINES) {
          for (const m of response.matchAll(re)) {
            const at = m.index! + m[0].indexOf(`${m[1]} ${m[2]}`);
            acc.nameFirst!.push(nll[tokenAt(at - 1)]!); // cl100k writes " First" as one piece
            acc.nameLast!.push(nll[tokenAt(at + m[1]!.length)]!);
          }
        }
      } else if (ex.record.dataSource === "synth_copy") {
        const end = response.indexOf("\n</think>"); // the list; the prompt ends with "<think>\n"
        const firsts = new Set<number>();
        for (let c = 0; c < end; c++) if (response.startsWith(", ", c)) firsts.add(tokenAt(c + 1));
        starts.forEach((s, i) => {
          if (s < end) (firsts.has(i) ? acc.itemFirst! : acc.itemRest!).push(nll[i]!);
        });
      }
    }
    releaseParams(gpu, params);
    console.log(`${run} step ${args[k + 1]}: ${Object.entries(acc).map(([key, v]) => `${key} ${mean(v).toFixed(2)} (${v.length})`).join("  ")}`);
  }
} finally {
  releaseGpu(gpu);
}
process.exit(0);
