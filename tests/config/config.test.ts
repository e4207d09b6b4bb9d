// Run configuration: defaults, the two shipped YAML files, --set overrides, one-line errors that name the
// place and the fix, and the resolved config's round trip through YAML.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { configToYaml, EMBEDDED_DEMO, loadRunConfig, type LoadOptions } from "../../src/config/load.ts";
import { DEFAULT_RUN_CONFIG, rlPhases } from "../../src/config/schema.ts";
import { OPTIONAL, RULES } from "../../src/config/rules.ts";
import { LongrlError } from "../../src/util/errors.ts";

const DEMO = "configs/demo.yaml";
const DEMO_BASE = "configs/demo-base.yaml";
const QWEN = "configs/qwen2.5-0.5b.yaml";
const DEMO_COPY = "configs/demo-copy.yaml";
const DEMO_512 = "configs/demo-512.yaml";

/** The error loadRunConfig throws, checked to be a one-line usage error. */
function errorOf(opts: LoadOptions): string {
  try {
    loadRunConfig(opts);
  } catch (e) {
    expect(e).toBeInstanceOf(LongrlError);
    expect((e as LongrlError).exitCode).toBe(2);
    const msg = (e as Error).message;
    expect(msg).not.toContain("\n");
    return msg;
  }
  throw new Error(`no error for ${JSON.stringify(opts)}`);
}

/** Dotted paths of every leaf (list elements as `*`), with the leaf's default value. */
function leaves(v: unknown, path = ""): [string, unknown][] {
  if (Array.isArray(v)) return leaves(v[0], `${path}.*`);
  if (typeof v === "object" && v !== null) return Object.entries(v).flatMap(([k, x]) => leaves(x, path ? `${path}.${k}` : k));
  return [[path, v]];
}

/** The leaf paths whose values differ between two configs (arrays by their first element). */
function changedLeaves(base: unknown, cfg: unknown): string[] {
  const was = new Map(leaves(base));
  return leaves(cfg).filter(([k, v]) => v !== was.get(k)).map(([k]) => k).sort();
}

describe("run config: defaults and shipped files", () => {
  test("defaults load, with the overlong L taken from rl.maxResponseTokens", () => {
    const cfg = loadRunConfig();
    expect(cfg.rl).toEqual(DEFAULT_RUN_CONFIG.rl);
    expect(cfg.reward.overlong.maxResponseTokens).toBe(cfg.rl.maxResponseTokens);
    expect(cfg.rl).toMatchObject({ groupSize: 8, lr: 2e-6, clipLow: 0.2, clipHigh: 0.2, entropyCoef: 0.001, klCoef: 0, temperature: 0.7, topP: 0.95 });
  });

  test("every number has a rule, and every rule names a field", () => {
    const all = leaves(DEFAULT_RUN_CONFIG);
    const unruled = all.filter(([p, v]) => typeof v === "number" && !RULES[p]).map(([p]) => p);
    expect(unruled).toEqual([]);
    const paths = new Set([...all.map(([p]) => p), ...Object.keys(OPTIONAL)]);
    expect(Object.keys(OPTIONAL).filter((p) => !RULES[p])).toEqual([]);
    expect(Object.keys(RULES).filter((p) => !paths.has(p))).toEqual([]);
  });

  test("every default passes its own rules (through a YAML round trip)", () => {
    expect(loadRunConfig({ file: "saved.yaml", text: configToYaml(loadRunConfig()) })).toEqual(loadRunConfig());
  });

  test("configs/demo.yaml loads, and the embedded copy is the file", () => {
    expect(EMBEDDED_DEMO).toBe(readFileSync(DEMO, "utf8"));
    const cfg = loadRunConfig({ file: DEMO });
    expect(loadRunConfig({ file: DEMO, text: EMBEDDED_DEMO })).toEqual(cfg);
    expect(cfg.model.path).toBe("");
    expect(cfg.model.fresh).toMatchObject({ hiddenSize: 128, numLayers: 4, numHeads: 4, numKvHeads: 2, vocabSize: 0 });
    expect(cfg.tokenizer).toMatchObject({ name: "cl100k_base", compactVocab: true });
    expect(cfg.curriculum).toMatchObject({ enable: true, cumulative: true, phases: [{ maxPromptTokens: 384, steps: 10 }, { maxPromptTokens: 512, steps: 40 }] });
    expect(cfg.pretrain).toMatchObject({ steps: 400, recite: { records: 1500, minTokens: 64, maxTokens: 256, lines: 4 } });
    expect(cfg.sft.steps).toBe(900);
    expect(cfg.rl).toMatchObject({ groupSize: 8, temperature: 1, updatesPerBatch: 2, klCoef: 0.05, dynamicSampling: { scaleShortBatch: true } });
    expect(cfg.reward.qaMatch).toBe("cover");
    expect(cfg.reward.overlong.maxResponseTokens).toBe(cfg.rl.maxResponseTokens);
    expect(cfg.eval).toMatchObject({ atStart: true, afterEachStage: true });
  });

  test("configs/qwen2.5-0.5b.yaml loads: a model directory, its own tokenizer, 8K -> 20K", () => {
    const cfg = loadRunConfig({ file: QWEN });
    expect(cfg.model.path).not.toBe("");
    expect(cfg.tokenizer).toMatchObject({ name: "", compactVocab: false });
    expect(cfg.curriculum.phases.map((p) => p.maxPromptTokens)).toEqual([8192, 20000]);
    expect(cfg.rl).toMatchObject({ groupSize: 8, lr: 2e-6, warmupSteps: 0, clipHigh: 0.2 });
    expect(cfg.reward.overlong.maxResponseTokens).toBe(cfg.rl.maxResponseTokens);
  });

  test("configs/demo-base.yaml, the first demo: three phases up to 1,024 tokens", () => {
    const cfg = loadRunConfig({ file: DEMO_BASE });
    expect(cfg.curriculum.phases.map((p) => p.maxPromptTokens)).toEqual([256, 512, 1024]);
    expect(cfg.pretrain.enable).toBe(false);
  });

  test("configs/demo-copy.yaml is demo-base.yaml plus the copy stage, and differs from it only in the copy pipeline's settings", () => {
    const demoCfg = loadRunConfig({ file: DEMO_BASE });
    const copyCfg = loadRunConfig({ file: DEMO_COPY });
    expect(changedLeaves(demoCfg, copyCfg)).toEqual(
      [
        "model.fresh.initializerRange",
        "data.synth.reasoning",
        "data.evalSynth.reasoning",
        "data.sftSynth.n",
        "data.sftSynth.minTokens",
        "data.sftSynth.maxTokens",
        "data.sftSynth.reasoning",
        "pretrain.enable",
        "sft.lr",
      ].sort(),
    );
    expect(copyCfg.model.fresh.initializerRange).toBe(0.05);
    expect(copyCfg.pretrain.enable).toBe(true);
    expect(copyCfg.data.synth.kinds).toEqual(["lookup"]); // leaves() sees arrays by their first element
    expect(demoCfg.data.synth.kinds).toEqual(["lookup", "choice"]);
    expect(copyCfg.data.sftSynth.kinds).toEqual(["lookup", "choice"]);
  });

  test("configs/demo-512.yaml is demo-copy.yaml with RL and eval on lookups of at most 512 tokens, and differs from it only there", () => {
    const copyCfg = loadRunConfig({ file: DEMO_COPY });
    const cfg = loadRunConfig({ file: DEMO_512 });
    expect(changedLeaves(copyCfg, cfg)).toEqual(
      [
        "data.synth.maxTokens",
        "data.evalSynth.n",
        "data.evalSynth.maxTokens",
        "rl.batchSize",
        "rl.miniBatchSize",
        "rl.lr",
        "curriculum.phases.*.maxPromptTokens",
        "curriculum.phases.*.steps",
        "eval.maxItems",
      ].sort(),
    );
    expect(cfg.curriculum.phases).toEqual([{ maxPromptTokens: 384, steps: 15 }, { maxPromptTokens: 512, steps: 15 }]);
    expect(cfg.eval.lengthBuckets).toEqual([256, 384, 512]); // leaves() sees arrays by their first element:
    expect(copyCfg.eval.lengthBuckets).toEqual([256, 512, 1024]); // these two, and the kinds, are checked here
    expect(copyCfg.data.evalSynth.kinds).toEqual(["lookup", "choice"]);
    expect(cfg.data.evalSynth.kinds).toEqual(["lookup"]);
    expect(cfg.data.synth.maxTokens).toBe(cfg.curriculum.phases.at(-1)!.maxPromptTokens);
  });

  test("configs/demo.yaml is demo-512.yaml with settings F and R and eval-side time savers, and differs from it only there", () => {
    const base = loadRunConfig({ file: DEMO_512 });
    const cfg = loadRunConfig({ file: DEMO });
    expect(changedLeaves(base, cfg)).toEqual(
      [
        // F: what RL trains with
        "rl.updatesPerBatch",
        "rl.klCoef",
        "rl.temperature",
        "rl.dynamicSampling.scaleShortBatch",
        "curriculum.cumulative",
        // R: the stages' lengths, recitations, one rollout round, phases at lr 1e-4
        "pretrain.steps",
        "pretrain.recite.records",
        "pretrain.recite.maxTokens",
        "pretrain.recite.lines",
        "sft.steps",
        "rl.dynamicSampling.maxRounds",
        "curriculum.phases.*.steps",
        "curriculum.phases.*.lr",
        "checkpoint.keep",
        // time: what is measured, not what is trained
        "pretrain.evalInterval",
        "sft.evalInterval",
        "eval.atStartMaxItems",
        "eval.promptsPerCall",
      ].sort(),
    );
    expect(cfg.curriculum.phases).toEqual([{ maxPromptTokens: 384, steps: 10, lr: 1e-4 }, { maxPromptTokens: 512, steps: 40, lr: 1e-4 }]); // R: each phase's lr
    expect(base.curriculum.phases.map((p) => Object.keys(p).sort())).toEqual([["maxPromptTokens", "steps"], ["maxPromptTokens", "steps"]]);
    expect(cfg.reward.qaMatch).toBe(base.reward.qaMatch); // F's cover verifier is the default, written out in the file
  });

  test("resolved configs round-trip through configToYaml", () => {
    for (const opts of [{ file: DEMO }, { file: DEMO_BASE }, { file: QWEN }, { file: DEMO_COPY }, { file: DEMO_512 }, { file: DEMO, sets: ["rl.clipHigh=0.28", "data.synth.maxTokens=1500", "curriculum.phases.2={maxPromptTokens: 1500, steps: 2}", "outputDir=runs/123"] }]) {
      const cfg = loadRunConfig(opts);
      const yaml = configToYaml(cfg);
      expect(YAML.parse(yaml).reward.overlong).not.toHaveProperty("maxResponseTokens"); // derived, so left out
      expect(loadRunConfig({ file: "run/config.yaml", text: yaml })).toEqual(cfg);
    }
  });

  test("rlPhases: curriculum off is one phase over all lengths for the sum of the steps", () => {
    const on = loadRunConfig({ file: DEMO });
    expect(rlPhases(on)).toEqual(on.curriculum.phases);
    const off = loadRunConfig({ file: DEMO, sets: ["curriculum.enable=false"] });
    const total = on.curriculum.phases.reduce((a, p) => a + p.steps, 0);
    expect(rlPhases(off)).toEqual([{ maxPromptTokens: 512, steps: total }]);
  });
});

describe("run config: --set overrides", () => {
  const load = (...sets: string[]) => loadRunConfig({ file: DEMO, sets });

  test("scalars: numbers, booleans, strings, empty value", () => {
    const cfg = load("rl.clipHigh=0.28", "sft.enable=false", "outputDir=runs/2024", "data.train=", "rl.lr=2e-6");
    expect(cfg.rl.clipHigh).toBe(0.28);
    expect(cfg.sft.enable).toBe(false);
    expect(cfg.outputDir).toBe("runs/2024");
    expect(cfg.data.train).toBe("");
    expect(cfg.rl.lr).toBe(2e-6);
  });

  test("lists: whole list, element by index (a.1.b and a[1].b), append", () => {
    expect(load("data.synth.kinds=[lookup,docmath]").data.synth.kinds).toEqual(["lookup", "docmath"]);
    expect(load("curriculum.phases=[{maxPromptTokens: 512, steps: 10}]").curriculum.phases).toEqual([{ maxPromptTokens: 512, steps: 10 }]);
    const cfg = load("curriculum.phases.0.steps=5", "curriculum.phases[1].steps=7");
    expect(cfg.curriculum.phases.map((p) => p.steps)).toEqual([5, 7]);
    expect(load("data.synth.maxTokens=1500", "curriculum.phases.2={maxPromptTokens: 1500, steps: 2}").curriculum.phases[2]).toEqual({ maxPromptTokens: 1500, steps: 2 });
    expect(load("eval.kValues=[1, 2, 4]").eval.kValues).toEqual([1, 2, 4]);
  });

  test("a phase's lr and klCoef may be left out (the phase then uses rl.lr and rl.klCoef) or set by index", () => {
    const cfg = load("curriculum.phases.1.klCoef=0.2", "curriculum.phases.1.lr=2e-4");
    expect(cfg.curriculum.phases[1]).toEqual({ maxPromptTokens: 512, steps: 40, klCoef: 0.2, lr: 2e-4 });
    expect(cfg.curriculum.phases[0]).toEqual({ maxPromptTokens: 384, steps: 10, lr: 1e-4 });
    expect(load("curriculum.phases=[{maxPromptTokens: 512, steps: 10, lr: 2e-4}]").curriculum.phases).toEqual([{ maxPromptTokens: 512, steps: 10, lr: 2e-4 }]);
    expect(loadRunConfig().curriculum.phases[0]).toEqual({ maxPromptTokens: 20_000, steps: 200 }); // no phase lr by default
    expect(loadRunConfig({ file: "run/config.yaml", text: configToYaml(cfg) })).toEqual(cfg);
  });

  test("a mapping merges into its section; later --set wins", () => {
    const cfg = load("rl.dynamicSampling={maxRounds: 2}", "rl.groupSize=4", "rl.groupSize=16");
    expect(cfg.rl.dynamicSampling).toEqual({ enable: true, maxRounds: 2, scaleShortBatch: true }); // the file's scaleShortBatch stays
    expect(cfg.rl.groupSize).toBe(16);
  });

  test("the overlong L follows rl.maxResponseTokens", () => {
    expect(load("rl.maxResponseTokens=160").reward.overlong.maxResponseTokens).toBe(160);
  });

  test("defaults are not changed by a load", () => {
    const before = JSON.stringify(DEFAULT_RUN_CONFIG);
    load("rl.clipHigh=0.28", "curriculum.phases.0.steps=99", "data.synth.kinds=[choice]");
    expect(JSON.stringify(DEFAULT_RUN_CONFIG)).toBe(before);
  });
});

describe("run config: errors are one line naming the place, the field and the fix", () => {
  const cases: [string, LoadOptions, string][] = [
    ["unknown key in a file, with a suggestion", { file: DEMO, text: "rl:\n  clip_hi: 0.28\n" }, "configs/demo.yaml:2: rl.clip_hi is not a key; did you mean rl.clipHigh?"],
    ["unknown key by --set", { sets: ["rl.clip_hi=0.28"] }, "--set rl.clip_hi=0.28: rl.clip_hi is not a key; did you mean rl.clipHigh?"],
    ["snake_case key", { sets: ["curriculum.phases.0.max_prompt_tokens=5"] }, "--set curriculum.phases.0.max_prompt_tokens=5: curriculum.phases.0.max_prompt_tokens is not a key; did you mean curriculum.phases.0.maxPromptTokens?"],
    ["key of another section", { sets: ["sft.groupSize=4"] }, "--set sft.groupSize=4: sft.groupSize is not a key; did you mean rl.groupSize?"],
    ["unknown key, no near name", { text: "zzz: 1\n" }, "config:1: zzz is not a key; the top level has seed, outputDir, checkpoint, model, tokenizer, data, pretrain, sft, rl, curriculum, retrospective, reward, eval"],
    ["wrong type by --set", { sets: ["rl.groupSize=abc"] }, '--set rl.groupSize=abc: rl.groupSize must be an integer, got "abc"'],
    ["float for an integer", { file: "x.yaml", text: "rl:\n  groupSize: 2.5\n" }, "x.yaml:2: rl.groupSize must be an integer, got 2.5"],
    ["boolean", { sets: ["sft.enable=yes"] }, '--set sft.enable=yes: sft.enable must be true or false, got "yes"'],
    ["string", { sets: ["model.path=3"] }, "--set model.path=3: model.path must be a string (quote it if it looks like a number), got 3"],
    ["section given a scalar", { file: "x.yaml", text: "rl: 3\n" }, "x.yaml:1: rl must be a mapping of keys, got 3"],
    ["list given a scalar", { sets: ["eval.kValues=1"] }, "--set eval.kValues=1: eval.kValues must be a list, e.g. [a, b], got 1"],
    ["word not in the set", { sets: ["checkpoint.dtype=F16"] }, '--set checkpoint.dtype=F16: checkpoint.dtype must be one of F32, BF16, got "F16"'],
    ["qa verifier rule", { sets: ["reward.qaMatch=partial"] }, '--set reward.qaMatch=partial: reward.qaMatch must be one of cover, either, exact, got "partial"'],
    ["list element", { sets: ["data.synth.kinds=[lookup, trivia]"] }, '--set data.synth.kinds=[lookup, trivia]: data.synth.kinds.1 must be one of lookup, multihop, docmath, choice, got "trivia"'],
    ["groupSize >= 1", { sets: ["rl.groupSize=0"] }, "--set rl.groupSize=0: rl.groupSize must be >= 1, got 0"],
    ["synthetic record count >= 1", { sets: ["data.synth.n=0"] }, "--set data.synth.n=0: data.synth.n must be >= 1, got 0"],
    ["sftSynth.n may be 0, not below", { sets: ["data.sftSynth.n=-1"] }, "--set data.sftSynth.n=-1: data.sftSynth.n must be >= 0, got -1"],
    ["clipLow < 1", { sets: ["rl.clipLow=1"] }, "--set rl.clipLow=1: rl.clipLow must be < 1, got 1"],
    ["clipHigh > 0", { sets: ["rl.clipHigh=0"] }, "--set rl.clipHigh=0: rl.clipHigh must be > 0, got 0"],
    ["topP <= 1", { sets: ["rl.topP=1.5"] }, "--set rl.topP=1.5: rl.topP must be <= 1, got 1.5"],
    ["topP > 0", { sets: ["eval.topP=0"] }, "--set eval.topP=0: eval.topP must be > 0, got 0"],
    ["temperature > 0", { sets: ["rl.temperature=0"] }, "--set rl.temperature=0: rl.temperature must be > 0, got 0"],
    ["lr >= 0", { sets: ["sft.lr=-1e-5"] }, "--set sft.lr=-1e-5: sft.lr must be >= 0, got -0.00001"],
    ["adamBeta2 < 1", { sets: ["pretrain.adamBeta2=1"] }, "--set pretrain.adamBeta2=1: pretrain.adamBeta2 must be < 1, got 1"],
    ["share in [0, 1]", { sets: ["retrospective.share=1.5"] }, "--set retrospective.share=1.5: retrospective.share must be <= 1, got 1.5"],
    ["phase steps >= 0", { file: DEMO, sets: ["curriculum.phases.1.steps=-1"] }, "--set curriculum.phases.1.steps=-1: curriculum.phases.1.steps must be >= 0, got -1"],
    ["phase lr >= 0", { file: DEMO, sets: ["curriculum.phases.1.lr=-1"] }, "--set curriculum.phases.1.lr=-1: curriculum.phases.1.lr must be >= 0, got -1"],
    ["phase klCoef is a number", { file: DEMO, sets: ["curriculum.phases.0.klCoef=big"] }, '--set curriculum.phases.0.klCoef=big: curriculum.phases.0.klCoef must be a number, got "big"'],
    ["a phase key that is not one points to rl's", { file: DEMO, sets: ["curriculum.phases.0.entropyCoef=0"] }, "--set curriculum.phases.0.entropyCoef=0: curriculum.phases.0.entropyCoef is not a key; did you mean rl.entropyCoef?"],
    ["phases grow", { file: DEMO, sets: ["curriculum.phases.1.maxPromptTokens=384"] }, "--set curriculum.phases.1.maxPromptTokens=384: curriculum.phases.1.maxPromptTokens 384 must be > curriculum.phases.0.maxPromptTokens 384 (phases grow)"],
    ["phases grow, in a file", { file: "x.yaml", text: "curriculum:\n  phases:\n    - {maxPromptTokens: 900, steps: 1}\n    - {maxPromptTokens: 800, steps: 1}\n" }, "x.yaml:4: curriculum.phases.1.maxPromptTokens 800 must be > curriculum.phases.0.maxPromptTokens 900 (phases grow)"],
    ["phase element needs every key", { sets: ["curriculum.phases=[{maxPromptTokens: 512}]"] }, "--set curriculum.phases=[{maxPromptTokens: 512}]: curriculum.phases.0 has no steps; each element needs maxPromptTokens, steps"],
    ["no phases", { sets: ["curriculum.phases=[]"] }, "--set curriculum.phases=[]: curriculum.phases is empty; give at least one {maxPromptTokens, steps}"],
    ["micro-batch divides the mini-batch", { file: DEMO, sets: ["rl.microBatchSize=3"] }, "--set rl.microBatchSize=3: rl.microBatchSize 3 does not divide the 32 sequences of a mini-batch (rl.miniBatchSize x rl.groupSize)"],
    ["mini-batch divides the batch", { file: DEMO, sets: ["rl.batchSize=5"] }, "--set rl.batchSize=5: rl.miniBatchSize 4 does not divide rl.batchSize 5"],
    ["SFT micro-batch", { file: DEMO, sets: ["sft.microBatchSize=3"] }, "--set sft.microBatchSize=3: sft.microBatchSize 3 does not divide sft.batchSize 8"],
    ["pass@k needs k samples", { file: DEMO, sets: ["eval.kValues=[1, 8]"] }, "--set eval.kValues=[1, 8]: eval.samplesPerItem 4 < the largest eval.kValues 8; pass@k needs k samples"],
    ["derived key", { sets: ["reward.overlong.maxResponseTokens=512"] }, "--set reward.overlong.maxResponseTokens=512: reward.overlong.maxResponseTokens is set from rl.maxResponseTokens; set that instead"],
    ["derived key in a file", { file: "x.yaml", text: "reward:\n  overlong:\n    maxResponseTokens: 512\n" }, "x.yaml:3: reward.overlong.maxResponseTokens is set from rl.maxResponseTokens; set that instead"],
    ["window of a fresh model", { file: DEMO, sets: ["rl.maxResponseTokens=1600"] }, "--set rl.maxResponseTokens=1600: curriculum.phases.1.maxPromptTokens 512 + rl.maxResponseTokens 1600 > model.fresh.maxPositions 2048; lower them or raise maxPositions"],
    ["fresh model shape", { file: DEMO, sets: ["model.fresh.hiddenSize=130"] }, "--set model.fresh.hiddenSize=130: model.fresh: hiddenSize 130 is not a multiple of numHeads 4"],
    ["compact vocabulary with a pretrained model", { file: DEMO, sets: ["model.path=models/qwen"] }, "--set model.path=models/qwen: tokenizer.compactVocab must be false with model.path set: a pretrained embedding keeps its token ids (set tokenizer.compactVocab=false, and tokenizer.name= to use the model directory's own tokenizer; --model DIR sets all three)"],
    ["a phase with no synthetic record", { file: DEMO, sets: ["sft.enable=false", "data.synth.minTokens=400"] }, "--set data.synth.minTokens=400: curriculum.phases.0 takes prompts of (0, 384] tokens but data.synth makes 400..512; change data.synth.minTokens/maxTokens or the phase"],
    ["judge without a model", { sets: ["reward.judge.backend=openai"] }, "--set reward.judge.backend=openai: reward.judge.model is empty; name the judge model for backend openai"],
    ["index past the end", { file: DEMO, sets: ["curriculum.phases.5.steps=1"] }, "--set curriculum.phases.5.steps=1: curriculum.phases has 2 elements; index 5 is out of range (2 appends)"],
    ["field of a new element", { file: DEMO, sets: ["curriculum.phases.2.steps=1"] }, "--set curriculum.phases.2.steps=1: curriculum.phases.2 does not exist; append a whole element: curriculum.phases.2={...}"],
    ["a leaf is not a section", { sets: ["rl.groupSize.x=1"] }, "--set rl.groupSize.x=1: rl.groupSize is an integer, not a section; use --set rl.groupSize=VALUE"],
    ["--set without =", { sets: ["rl.groupSize"] }, "--set rl.groupSize: expected key=value, e.g. --set rl.clipHigh=0.28"],
    ["--set with a bad value", { sets: ["rl.groupSize=[1"] }, "--set rl.groupSize=[1: the value is not valid YAML (Flow sequence must end with a ]); quote text that holds : # [ or {"],
    ["malformed YAML names file and line", { file: "x.yaml", text: "seed: 1\nrl:\n  groupSize: [8\nsft: {}\n" }, "x.yaml:4: malformed YAML: Flow sequence in block collection must be sufficiently indented and end with a ]"],
    ["duplicate key", { file: "x.yaml", text: "seed: 1\nseed: 2\n" }, "x.yaml:2: malformed YAML: Map keys must be unique"],
    ["top level not a mapping", { file: "x.yaml", text: "- 1\n" }, "x.yaml: the top level must be a mapping of keys (seed: 1, rl: {...}), got [1]"],
    ["recitation lengths", { sets: ["pretrain.recite.maxTokens=32"] }, "--set pretrain.recite.maxTokens=32: pretrain.recite.maxTokens 32 < pretrain.recite.minTokens 64; raise it"],
    ["missing file", { file: "configs/nope.yaml" }, "configs/nope.yaml: cannot read the config file (ENOENT); check the path"],
  ];
  for (const [name, opts, want] of cases) {
    test(name, () => expect(errorOf(opts)).toBe(want));
  }

  test("an empty file or section keeps the defaults", () => {
    expect(loadRunConfig({ text: "" })).toEqual(loadRunConfig());
    expect(loadRunConfig({ text: "rl:\n  # nothing yet\n" })).toEqual(loadRunConfig());
  });
});
