// The one run configuration: a typed object whose defaults carry their reason (rules.ts adds ranges,
// validate.ts checks, load.ts reads YAML and --set). Defaults are the QwenLong-L1 recipe (design.md §5)
// at one GPU's scale, on the tiny fresh model; configs/*.yaml override them.
import { DEFAULT_REWARD, type RewardOptions } from "../reward/config.ts";
import { DEFAULT_SYNTH, type SynthOptions } from "../data/synth.ts";
import type { ReasoningStyle } from "../data/synthQuestions.ts";
import { FRESH_DEFAULTS, type ModelConfig } from "../model/config.ts";
import type { ChatTemplateName } from "../tokenizer/chat.ts";

export interface CheckpointOptions {
  /** Steps between checkpoints; 0 = only at the end of each stage. */
  interval: number;
  /** Newest checkpoints kept; older ones are deleted. */
  keep: number;
  dtype: "F32" | "BF16";
}

/** Fresh-model shape (src/model/config.ts); vocabSize 0 = the tokenizer's (compact) vocabulary size. */
export type FreshModelOptions = Pick<
  ModelConfig,
  "vocabSize" | "hiddenSize" | "intermediateSize" | "numLayers" | "numHeads" | "numKvHeads" | "ropeTheta" | "rmsNormEps" | "tieWordEmbeddings" | "maxPositions" | "initializerRange"
>;

export interface ModelOptions {
  /** A Hugging Face Qwen2 directory (config.json + safetensors); "" = a fresh model of `fresh`'s shape. */
  path: string;
  fresh: FreshModelOptions;
  /** Recompute each layer's activations in backward: memory of one layer instead of L, ~1.3x compute. */
  recompute: boolean;
}

export interface TokenizerOptions {
  /** A tiktoken encoding name or a tokenizer.json directory; "" = the model directory's. */
  name: string;
  /** Keep only the token ids the corpus uses (fresh models only: a pretrained embedding keeps its ids). */
  compactVocab: boolean;
  /** "auto" = the tokenizer's own chat_template (ChatML for a tiktoken encoding). */
  chatTemplate: ChatTemplateName | "auto";
  /** The generation prompt ends with `<think>\n`, as DeepSeek-R1-Distill's template does. */
  think: boolean;
}

/** The synthetic generator's options; lengths are measured with tokenizer.name. */
export type SynthSection = Omit<SynthOptions, "tokenizer" | "reasoning"> & { reasoning: ReasoningStyle };

export interface DataOptions {
  /** DocQA JSONL for SFT and RL; "" = synthetic records from `synth`. */
  train: string;
  /** Held-out DocQA JSONL; "" = synthetic records from `evalSynth`. */
  eval: string;
  synth: SynthSection;
  evalSynth: SynthSection;
  /** SFT's own DocQA JSONL (QwenLong-L1 warms up on a set apart from its RL data); "" = `sftSynth`, or the train records when sftSynth.n is 0. */
  sftTrain: string;
  /** SFT's own synthetic records when n > 0 and sftTrain is "". */
  sftSynth: SynthSection;
  /** SFT uses records with at most this many prompt tokens (short-context SFT, as the paper recommends). */
  sftMaxPromptTokens: number;
}

/** What the supervised stages (copy-list pretraining, SFT) share: steps, batching, AdamW with warmup + cosine. */
export interface SupervisedOptions {
  enable: boolean;
  steps: number;
  /** Sequences per optimizer step. */
  batchSize: number;
  /** Sequences per forward/backward; gradients accumulate over batchSize / microBatchSize. */
  microBatchSize: number;
  lr: number;
  warmupSteps: number;
  /** Cosine decay ends at lr * minLrRatio. */
  minLrRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  /** AdamW's beta2 (HF's adam_beta2; beta1 stays 0.9): how many steps the squared-gradient average spans, about 1 / (1 - beta2). */
  adamBeta2: number;
  /** Steps between held-out loss evaluations; 0 = only at the end. */
  evalInterval: number;
}

export interface SftOptions extends SupervisedOptions {
  /** Prompt + response tokens per sequence; longer ones are skipped (and counted). */
  maxTokens: number;
  /** Weight of the prompt tokens in the next-token loss, relative to the response's 1 (the loss is the weighted mean). 0 = the response only (TRL's completion_only_loss); 1 = the whole sequence, as in pre-training. */
  promptLossWeight: number;
}

/**
 * The copy-list pretraining stage (src/data/synthCopy.ts), run before SFT with its own optimizer and schedule:
 * a fresh model's stand-in for pretraining, where it learns to copy from its context (induction), which retrieval
 * needs. Its held-out loss is over 32 lists not trained on.
 */
export interface PretrainOptions extends SupervisedOptions {
  /** Copy lists to train on, generated from the run's seed. */
  records: number;
  /** Items per list, uniform in [minItems, maxItems]. */
  minItems: number;
  maxItems: number;
  /** Fraction of the copy lists that are random digit strings (src/data/synthCopy.ts); 0 = none. */
  digitShare: number;
  /** Recitations (src/data/synthCopy.ts) shuffled in with the copy lists; records 0 = none. */
  recite: ReciteSection;
  /** Seed of the copy lists, the recitations and their draw order; -1 = the run's seed. Another value keeps the initialization (the run's seed) and changes only the stage's data. */
  dataSeed: number;
}

export interface ReciteSection {
  /** Recitations to train on (32 more are held out), generated from the run's seed + 1000. */
  records: number;
  /** Prompt tokens of their documents, uniform in [minTokens, maxTokens]. */
  minTokens: number;
  maxTokens: number;
  /** Passages each recitation quotes. */
  lines: number;
}

export interface DynamicSamplingOptions {
  /** DAPO: drop groups whose accuracy is the same for all G rollouts. */
  enable: boolean;
  /** Rounds of drawing prompts before a step goes ahead with a short batch (and says so). */
  maxRounds: number;
  /**
   * A mini-batch short of miniBatchSize groups (kept groups ran out) gets its gradient scaled by
   * groups / miniBatchSize, as if the missing groups were there with advantage 0; false = a full step.
   */
  scaleShortBatch: boolean;
}

export interface RlOptions {
  enable: boolean;
  /** G: rollouts per prompt. */
  groupSize: number;
  /** Prompts per step (verl's train_batch_size). */
  batchSize: number;
  /** Prompts per policy update (verl's ppo_mini_batch_size); batchSize / miniBatchSize updates per step. */
  miniBatchSize: number;
  /** Sequences (not prompts) per forward/backward; divides miniBatchSize * groupSize. */
  microBatchSize: number;
  /** Passes over each rollout batch (verl's ppo_epochs). */
  updatesPerBatch: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  maxGradNorm: number;
  clipLow: number;
  clipHigh: number;
  entropyCoef: number;
  klCoef: number;
  temperature: number;
  topP: number;
  /** 0 = no top-k cut. */
  topK: number;
  /** L: the rollout's response cap; the overlong penalty (reward.overlong) uses the same L. */
  maxResponseTokens: number;
  dynamicSampling: DynamicSamplingOptions;
  /** Steps between writing sample rollouts (prompt tail, response, reward) to the run directory; 0 = never. */
  rolloutLogInterval: number;
}

export interface CurriculumPhase {
  /** Phase k trains on prompts with phases[k-1].maxPromptTokens < tokens <= maxPromptTokens. */
  maxPromptTokens: number;
  steps: number;
  /**
   * The phase's own lr and KL coefficient, in place of rl.lr (warmup and decay apply as to it) and rl.klCoef;
   * left out, the phase uses those. With the curriculum off the one phase uses rl.lr and rl.klCoef.
   */
  lr?: number;
  klCoef?: number;
}

export interface CurriculumOptions {
  /** false = one phase over all lengths up to the largest maxPromptTokens, for the sum of the steps. */
  enable: boolean;
  /**
   * true = phase k trains on every prompt of at most phases[k].maxPromptTokens (tokens <= L(k)), not
   * only those above the previous phase's limit: each phase's pool holds the earlier phases' prompts too.
   */
  cumulative: boolean;
  phases: CurriculumPhase[];
}

export interface RetrospectiveOptions {
  /** From phase 2 on, re-draw hard prompts of earlier phases, probability ∝ 1 / max(r, 1/G). */
  enable: boolean;
  /** Fraction of each batch drawn from that pool (fewer when the pool is smaller). */
  share: number;
}

export interface EvalOptions {
  enable: boolean;
  /** Evaluate the starting model before any training. */
  atStart: boolean;
  /** Held-out records of that first eval (its first N); 0 = as many as maxItems. */
  atStartMaxItems: number;
  /** Evaluate after SFT and after each RL phase. */
  afterEachStage: boolean;
  /** RL steps between evals within a phase (labelled "rl step N" by global step); 0 = only at phase ends. */
  rlInterval: number;
  /** pass@k for each k (unbiased estimator over samplesPerItem samples); strictly increasing. */
  kValues: number[];
  samplesPerItem: number;
  temperature: number;
  topP: number;
  maxResponseTokens: number;
  /** 0 = every held-out record. */
  maxItems: number;
  /** Prompts sampled together in one generate call (each with samplesPerItem rows); the samples do not depend on it. */
  promptsPerCall: number;
  /** Upper bounds of the prompt-length buckets scores are reported in; strictly increasing. */
  lengthBuckets: number[];
}

export interface RunConfig {
  seed: number;
  /** The run directory: config.yaml, metrics.jsonl, checkpoints/, eval/, report.html. */
  outputDir: string;
  checkpoint: CheckpointOptions;
  model: ModelOptions;
  tokenizer: TokenizerOptions;
  data: DataOptions;
  pretrain: PretrainOptions;
  sft: SftOptions;
  rl: RlOptions;
  curriculum: CurriculumOptions;
  retrospective: RetrospectiveOptions;
  /** reward.overlong.maxResponseTokens is not a key: it is always rl.maxResponseTokens. */
  reward: RewardOptions;
  eval: EvalOptions;
}

const { vocabSize: _compactSize, bosTokenId: _bos, eosTokenId: _eos, torchDtype: _dtype, ...freshShape } = FRESH_DEFAULTS;

export const DEFAULT_RUN_CONFIG: RunConfig = {
  seed: 0, // ours; every random stream (init, data order, sampling) derives from it
  outputDir: "runs/longrl",
  checkpoint: {
    interval: 50, // ours; a few per stage at the default step counts
    keep: 3, // ours; enough to step back past a collapse
    dtype: "F32", // exact resume; BF16 halves the files (what HF checkpoints usually hold)
  },
  model: {
    path: "", // fresh by default: the tiny model trains anywhere; set a Qwen2.5 / R1-Distill-Qwen directory for real runs
    fresh: { vocabSize: 0, ...freshShape }, // shape reasons in FRESH_DEFAULTS; vocabSize 0 = the tokenizer's
    recompute: true, // verl's long-context recipes enable gradient checkpointing; activations at 20K tokens dominate memory
  },
  tokenizer: {
    name: DEFAULT_SYNTH.tokenizer, // cl100k_base: needs no download; "" uses the model directory's tokenizer
    compactVocab: true, // a fresh model needs only the ids its corpus uses (V ~ 4K, not 100K)
    chatTemplate: "auto",
    think: true, // QwenLong-L1 trains reasoning models: the answer follows `…</think>`
  },
  data: {
    train: "",
    eval: "",
    synth: { n: 1000, minTokens: DEFAULT_SYNTH.minTokens, maxTokens: DEFAULT_SYNTH.maxTokens, seed: 0, kinds: [...DEFAULT_SYNTH.kinds], reasoning: "cite" }, // ours
    evalSynth: { n: 100, minTokens: DEFAULT_SYNTH.minTokens, maxTokens: DEFAULT_SYNTH.maxTokens, seed: 1, kinds: [...DEFAULT_SYNTH.kinds], reasoning: "cite" }, // seed 1: no train record repeats
    sftTrain: "",
    sftSynth: { n: 0, minTokens: DEFAULT_SYNTH.minTokens, maxTokens: DEFAULT_SYNTH.maxTokens, seed: 2, kinds: [...DEFAULT_SYNTH.kinds], reasoning: "cite" }, // n 0: SFT draws from the train records; seed 2: apart from train and eval
    sftMaxPromptTokens: 4096, // short-context SFT: the paper's RL gained more from a short-context SFT model
  },
  pretrain: {
    enable: false, // a pretrained model copies already; configs/demo.yaml turns it on for its fresh model
    steps: 1000, // ours; on the demo's model at lr 3e-3 the copy loss dropped (to ~0.3) in 2 of 9 runs, depending on the initialization; batch 32 x 400 steps reached 0.46 and 0.80 in two seeds; with model.fresh.initializerRange 0.05 (configs/demo-copy.yaml) 0.17-0.40 at this batch in 4 of 4 runs (docs/demo/history.md)
    batchSize: 8, // ours
    microBatchSize: 4, // ours
    lr: 3e-3, // ours; a from-scratch rate (the demo's SFT uses 2e-3)
    warmupSteps: 20, // ours
    minLrRatio: 0.1, // ours
    weightDecay: 0.01, // as SFT
    maxGradNorm: 1.0, // as SFT
    adamBeta2: 0.999, // as SFT
    evalInterval: 50, // ours
    records: 3000, // ours; 1000 steps x 8 lists see each about 2.7 times
    minItems: 6, // ours; lists of 6-16 names, places and years: 15-73 cl100k tokens to copy, median 42 (measured on 3000 lists)
    maxItems: 16,
    digitShare: 0, // ours; off: lists of the world's items only
    recite: { records: 0, minTokens: 64, maxTokens: 512, lines: 6 }, // ours; off: copy lists only
    dataSeed: -1, // ours; the run's seed
  },
  sft: {
    enable: true, // the paper's warm-up before RL
    steps: 100, // ours
    batchSize: 32, // ours; sequences per step
    microBatchSize: 4, // verl's SFT micro_batch_size_per_gpu
    lr: 1e-5, // verl's SFT trainer default
    warmupSteps: 10, // verl's warmup_steps_ratio 0.1 of 100 steps
    minLrRatio: 0, // verl's cosine schedule decays to 0
    weightDecay: 0.01, // verl's SFT default
    maxGradNorm: 1.0, // verl's clip_grad
    adamBeta2: 0.999, // verl's and torch's AdamW default
    evalInterval: 25, // ours
    maxTokens: 8192, // room for a 4K-token prompt and its reasoning
    promptLossWeight: 0, // TRL's completion_only_loss: the prompt is masked
  },
  rl: {
    enable: true,
    groupSize: 8, // QwenLong-L1 rollout.n = 8
    batchSize: 32, // ours, sized for one GPU; DAPO recipes use 128-512 prompts per step
    miniBatchSize: 8, // 4 policy updates per rollout batch, the ratio of verl's DAPO examples (128 / 32)
    microBatchSize: 2, // ours; long sequences: memory decides
    updatesPerBatch: 1, // verl's ppo_epochs
    lr: 2e-6, // QwenLong-L1
    warmupSteps: 0, // QwenLong-L1: constant learning rate
    weightDecay: 0.01, // QwenLong-L1 AdamW (0.9, 0.999, wd 0.01)
    maxGradNorm: 1.0, // QwenLong-L1 grad clip
    clipLow: 0.2, // PPO / QwenLong-L1 eps_low
    clipHigh: 0.2, // QwenLong-L1 demo; DAPO's clip-higher is 0.28
    entropyCoef: 0.001, // QwenLong-L1 entropy bonus
    klCoef: 0, // QwenLong-L1 and DAPO drop the KL term (no reference model needed)
    temperature: 0.7, // QwenLong-L1 rollout temperature
    topP: 0.95, // QwenLong-L1 rollout top-p
    topK: 0, // off, as in verl (top_k = -1)
    maxResponseTokens: 10_000, // QwenLong-L1 data.max_response_length
    dynamicSampling: {
      enable: true, // DAPO dynamic sampling, on in QwenLong-L1
      maxRounds: 10, // verl DAPO max_num_gen_batches
      // ours: verl never trains on a short batch (it draws until full or stops); off keeps the measured demos' runs
      scaleShortBatch: false,
    },
    rolloutLogInterval: 10, // ours
  },
  curriculum: {
    enable: true,
    // QwenLong-L1's phases are disjoint length ranges; true keeps the shorter prompts in each later phase (ours)
    cumulative: false,
    // QwenLong-L1 phase I (20K input, 10K output); its phase II (60K) needs a model with a longer window.
    phases: [{ maxPromptTokens: 20_000, steps: 200 }], // steps: ours
  },
  retrospective: {
    enable: true, // the paper's difficulty-aware retrospective sampling
    share: 0.25, // ours; the paper gives no share
  },
  reward: DEFAULT_REWARD, // src/reward/config.ts holds each reason
  eval: {
    enable: true,
    atStart: true,
    atStartMaxItems: 0, // ours: an untrained model writes to the token cap; the demo scores it on fewer items
    afterEachStage: true,
    rlInterval: 0, // an eval costs about as much as a few RL steps on the demo; on for diagnosis
    kValues: [1, 4], // pass@1 averaged over samples, and pass@4
    samplesPerItem: 4, // the largest k
    temperature: 0.7, // QwenLong-L1 evaluation sampling
    topP: 0.95,
    maxResponseTokens: 10_000, // as in training
    maxItems: 0,
    promptsPerCall: 16, // ours: 1.3x faster evals than 4 on lavapipe, the same samples (README); RL samples rl.batchSize prompts at once
    lengthBuckets: [1024, 4096, 8192, 16384, 32768], // ours; powers of two up to Qwen2.5's window
  },
};

/** The RL phases a run trains: the configured ones, or one phase over all lengths when the curriculum is off. */
export function rlPhases(cfg: RunConfig): CurriculumPhase[] {
  const phases = cfg.curriculum.phases;
  if (cfg.curriculum.enable) return phases.map((p) => ({ ...p }));
  return [{ maxPromptTokens: Math.max(...phases.map((p) => p.maxPromptTokens)), steps: phases.reduce((s, p) => s + p.steps, 0) }];
}
