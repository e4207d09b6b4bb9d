// Per-key rules beyond the type the default value gives: integer or not, range, allowed words; and the keys
// derived from others. validate.ts applies them generically; a test checks every number has a rule.
import { REASONING_STYLES, SYNTH_KINDS } from "../data/synthQuestions.ts";
import { QA_MATCHES } from "../reward/qa.ts";
import { CHAT_TEMPLATES } from "../tokenizer/chat.ts";

/** One key's rule beyond its type; the type comes from the default value. */
export interface FieldRule {
  int?: boolean;
  min?: number;
  max?: number;
  /** Exclusive bounds. */
  gt?: number;
  lt?: number;
  oneOf?: readonly string[];
}

const POS_INT = { int: true, min: 1 } as const;
const NONNEG_INT = { int: true, min: 0 } as const;
const NONNEG = { min: 0 } as const;
const POSITIVE = { gt: 0 } as const;
const FRACTION = { min: 0, max: 1 } as const;
const SEED = { int: true, min: 0, max: 0xffffffff } as const;

/** A generator section's rules; `n` is the record count (sftSynth allows 0: SFT then uses the train records). */
const synthRules = (p: string, n: FieldRule = POS_INT): Record<string, FieldRule> => ({
  [`${p}.n`]: n,
  [`${p}.minTokens`]: POS_INT,
  [`${p}.maxTokens`]: POS_INT,
  [`${p}.seed`]: SEED,
  [`${p}.kinds.*`]: { oneOf: SYNTH_KINDS },
  [`${p}.reasoning`]: { oneOf: REASONING_STYLES },
});

/** The keys pretrain and sft share (SupervisedOptions). */
const supervisedRules = (p: string): Record<string, FieldRule> => ({
  [`${p}.steps`]: NONNEG_INT,
  [`${p}.batchSize`]: POS_INT,
  [`${p}.microBatchSize`]: POS_INT,
  [`${p}.lr`]: NONNEG,
  [`${p}.warmupSteps`]: NONNEG_INT,
  [`${p}.minLrRatio`]: FRACTION,
  [`${p}.weightDecay`]: NONNEG,
  [`${p}.maxGradNorm`]: POSITIVE,
  [`${p}.adamBeta2`]: { min: 0, lt: 1 },
  [`${p}.evalInterval`]: NONNEG_INT,
});

/** Rules by dotted path; `*` stands for any list index. Every number has one (a test checks). */
export const RULES: Record<string, FieldRule> = {
  seed: SEED,
  "checkpoint.interval": NONNEG_INT,
  "checkpoint.keep": POS_INT,
  "checkpoint.dtype": { oneOf: ["F32", "BF16"] },
  "model.fresh.vocabSize": NONNEG_INT,
  "model.fresh.hiddenSize": POS_INT,
  "model.fresh.intermediateSize": POS_INT,
  "model.fresh.numLayers": POS_INT,
  "model.fresh.numHeads": POS_INT,
  "model.fresh.numKvHeads": POS_INT,
  "model.fresh.ropeTheta": POSITIVE,
  "model.fresh.rmsNormEps": POSITIVE,
  "model.fresh.maxPositions": POS_INT,
  "model.fresh.initializerRange": POSITIVE,
  "tokenizer.chatTemplate": { oneOf: [...CHAT_TEMPLATES, "auto"] },
  ...synthRules("data.synth"),
  ...synthRules("data.evalSynth"),
  ...synthRules("data.sftSynth", NONNEG_INT),
  "data.sftMaxPromptTokens": POS_INT,
  ...supervisedRules("pretrain"),
  "pretrain.records": POS_INT,
  "pretrain.dataSeed": { int: true, min: -1, max: 0xffffffff },
  "pretrain.minItems": POS_INT,
  "pretrain.maxItems": POS_INT,
  "pretrain.digitShare": FRACTION,
  "pretrain.recite.records": NONNEG_INT,
  "pretrain.recite.minTokens": POS_INT,
  "pretrain.recite.maxTokens": POS_INT,
  "pretrain.recite.lines": POS_INT,
  ...supervisedRules("sft"),
  "sft.maxTokens": { int: true, min: 2 },
  "sft.promptLossWeight": FRACTION,
  "rl.groupSize": POS_INT,
  "rl.batchSize": POS_INT,
  "rl.miniBatchSize": POS_INT,
  "rl.microBatchSize": POS_INT,
  "rl.updatesPerBatch": POS_INT,
  "rl.lr": NONNEG,
  "rl.warmupSteps": NONNEG_INT,
  "rl.weightDecay": NONNEG,
  "rl.maxGradNorm": POSITIVE,
  "rl.clipLow": { gt: 0, lt: 1 }, // the ratio's lower bound 1 - clipLow stays positive
  "rl.clipHigh": POSITIVE,
  "rl.entropyCoef": NONNEG,
  "rl.klCoef": NONNEG,
  "rl.temperature": POSITIVE,
  "rl.topP": { gt: 0, max: 1 },
  "rl.topK": NONNEG_INT,
  "rl.maxResponseTokens": POS_INT,
  "rl.dynamicSampling.maxRounds": POS_INT,
  "rl.rolloutLogInterval": NONNEG_INT,
  "curriculum.phases.*.maxPromptTokens": POS_INT,
  "curriculum.phases.*.steps": NONNEG_INT,
  "curriculum.phases.*.lr": NONNEG,
  "curriculum.phases.*.klCoef": NONNEG,
  "retrospective.share": FRACTION,
  "reward.qaMatch": { oneOf: QA_MATCHES },
  "reward.judge.backend": { oneOf: ["none", "openai", "local"] },
  "reward.judge.timeoutMs": POS_INT,
  "reward.judge.maxRetries": NONNEG_INT,
  "reward.judge.backoffBaseMs": NONNEG_INT,
  "reward.judge.backoffMaxMs": NONNEG_INT,
  "reward.judge.concurrency": POS_INT,
  "reward.judge.maxTokens": POS_INT,
  "reward.overlong.maxResponseTokens": POS_INT,
  "reward.overlong.bufferTokens": NONNEG_INT,
  "reward.overlong.factor": NONNEG,
  "eval.kValues.*": POS_INT,
  "eval.samplesPerItem": POS_INT,
  "eval.temperature": POSITIVE,
  "eval.topP": { gt: 0, max: 1 },
  "eval.maxResponseTokens": POS_INT,
  "eval.maxItems": NONNEG_INT,
  "eval.atStartMaxItems": NONNEG_INT,
  "eval.rlInterval": NONNEG_INT,
  "eval.promptsPerCall": POS_INT,
  "eval.lengthBuckets.*": POS_INT,
};

/**
 * Keys a list element may have beyond the default element's, each with a value of its type (what validation checks
 * against; it is no default: a key left out stays out, and the code falls back to another field).
 */
export const OPTIONAL: Record<string, unknown> = {
  "curriculum.phases.*.lr": 0, // rl.lr
  "curriculum.phases.*.klCoef": 0, // rl.klCoef
};

/** Keys that are not set directly: each is derived from another at resolve time. */
export const DERIVED: Record<string, string> = {
  "reward.overlong.maxResponseTokens": "rl.maxResponseTokens",
};
