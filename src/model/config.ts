// The model's shape: a Qwen2ForCausalLM config.json read into one typed ModelConfig (and written
// back so Hugging Face tools load it), or longrl's own camelCase fields for a fresh model.
// Only what the kernels implement is accepted: a field asking for anything else (rope scaling,
// sliding-window attention, another activation or architecture) is an error naming it.
// Letters: V vocab, C channels (hidden), I MLP width, L layers, H heads, Hkv kv heads, D head dim.
import { readFileSync } from "node:fs";
import { closest, usageError } from "../util/errors.ts";

export interface ModelConfig {
  /** V: rows of the embedding and of the LM head. */
  vocabSize: number;
  /** C: the residual stream width (hidden_size). */
  hiddenSize: number;
  /** I: the SwiGLU MLP width (intermediate_size). */
  intermediateSize: number;
  /** L: decoder layers. */
  numLayers: number;
  /** H: query heads. */
  numHeads: number;
  /** Hkv: key/value heads (grouped-query attention; H % Hkv == 0). */
  numKvHeads: number;
  /** D = C / H (Qwen2 has no separate head_dim). */
  headDim: number;
  ropeTheta: number;
  rmsNormEps: number;
  /** LM head shares the embedding (no lm_head.weight tensor). */
  tieWordEmbeddings: boolean;
  /** Longest position the model is meant for (max_position_embeddings). */
  maxPositions: number;
  /** Std of the normal init of linear and embedding weights (HF initializer_range). */
  initializerRange: number;
  bosTokenId: number | null;
  /** One id or several (HF allows a list). */
  eosTokenId: number | number[] | null;
  /** torch_dtype of the weights on disk; informational (compute is always f32). */
  torchDtype: "float32" | "bfloat16" | "float16";
}

/** Defaults for a fresh model: a tiny stack that trains on lavapipe, each value with its reason. */
export const FRESH_DEFAULTS: Omit<ModelConfig, "headDim"> = {
  vocabSize: 4096, // a compact vocabulary (tokenizer/compact.ts) of a small synthetic corpus
  hiddenSize: 128, // demo size: a 2-core CPU runs a step in seconds
  intermediateSize: 352, // ~2.75 x C, Qwen2.5's ratio (896 -> 4864 is 5.4x; small models use less)
  numLayers: 4,
  numHeads: 4, // D = 32
  numKvHeads: 2, // GQA as in Qwen2.5 (14 heads / 2 kv heads at 0.5B)
  ropeTheta: 1_000_000, // Qwen2.5's value
  rmsNormEps: 1e-6, // Qwen2's value
  tieWordEmbeddings: true, // Qwen2.5-0.5B/1.5B tie; saves V x C parameters on a small model
  maxPositions: 32768, // Qwen2.5's max_position_embeddings
  initializerRange: 0.02, // HF Qwen2Config default
  bosTokenId: null, // Qwen2 prepends no BOS
  eosTokenId: null, // set from the tokenizer
  torchDtype: "float32",
};

const KEYS = [...Object.keys(FRESH_DEFAULTS), "headDim"];

/** Checks the shape constraints and fills headDim; `where` names the source for messages. */
export function freshConfig(fields: Record<string, unknown>, where = "model"): ModelConfig {
  for (const k of Object.keys(fields)) {
    if (!KEYS.includes(k)) {
      const hint = closest(k, KEYS);
      throw usageError(`${where}: ${k} is not a model key${hint ? `; did you mean ${hint}?` : ""}`);
    }
  }
  const cfg = { ...FRESH_DEFAULTS, ...fields } as ModelConfig;
  if (fields.headDim === undefined) cfg.headDim = Math.floor(cfg.hiddenSize / cfg.numHeads);
  validateConfig(cfg, where);
  return cfg;
}

/** Throws a usageError naming the first inconsistent field. */
export function validateConfig(cfg: ModelConfig, where: string): void {
  const ints: (keyof ModelConfig)[] = ["vocabSize", "hiddenSize", "intermediateSize", "numLayers", "numHeads", "numKvHeads", "headDim", "maxPositions"];
  for (const k of ints) {
    const v = cfg[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw usageError(`${where}: ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  for (const k of ["ropeTheta", "rmsNormEps", "initializerRange"] as const) {
    if (typeof cfg[k] !== "number" || !(cfg[k] > 0)) throw usageError(`${where}: ${k} must be a positive number, got ${JSON.stringify(cfg[k])}`);
  }
  if (typeof cfg.tieWordEmbeddings !== "boolean") throw usageError(`${where}: tieWordEmbeddings must be true or false`);
  if (cfg.hiddenSize % cfg.numHeads !== 0) throw usageError(`${where}: hiddenSize ${cfg.hiddenSize} is not a multiple of numHeads ${cfg.numHeads}`);
  if (cfg.headDim * cfg.numHeads !== cfg.hiddenSize) {
    throw usageError(`${where}: headDim ${cfg.headDim} != hiddenSize / numHeads = ${cfg.hiddenSize / cfg.numHeads}; Qwen2 needs head_dim = hidden_size / num_attention_heads`);
  }
  if (cfg.headDim % 2 !== 0) throw usageError(`${where}: headDim ${cfg.headDim} must be even (rotary embedding rotates halves)`);
  if (cfg.numHeads % cfg.numKvHeads !== 0) throw usageError(`${where}: numHeads ${cfg.numHeads} is not a multiple of numKvHeads ${cfg.numKvHeads}`);
  if (!["float32", "bfloat16", "float16"].includes(cfg.torchDtype)) throw usageError(`${where}: torchDtype ${cfg.torchDtype} must be float32, bfloat16 or float16`);
}

/**
 * A Hugging Face config.json object (Qwen2ForCausalLM) as a ModelConfig. Keys HF itself ignores or
 * that do not change the math (use_cache, transformers_version, sliding_window when the window is
 * off, ...) are accepted; any field that asks for something the kernels do not do is an error.
 */
export function configFromHf(json: unknown, file: string): ModelConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw usageError(`${file}: not a JSON object`);
  const j = json as Record<string, unknown>;
  const bad = (field: string, got: unknown, fix: string) => usageError(`${file}: ${field} ${JSON.stringify(got)} is not supported; ${fix}`);

  const arch = j.architectures;
  if (arch !== undefined && !(Array.isArray(arch) && arch.length === 1 && arch[0] === "Qwen2ForCausalLM")) {
    throw bad("architectures", arch, "longrl runs Qwen2ForCausalLM (Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen) only");
  }
  if (j.model_type !== undefined && j.model_type !== "qwen2") throw bad("model_type", j.model_type, 'longrl runs model_type "qwen2" only');
  if ((j.hidden_act ?? "silu") !== "silu") throw bad("hidden_act", j.hidden_act, "Qwen2's MLP is SwiGLU with silu");
  if ((j.attention_dropout ?? 0) !== 0) throw bad("attention_dropout", j.attention_dropout, "set it to 0 (RL fine-tuning uses no dropout)");
  const rs = j.rope_scaling as Record<string, unknown> | null | undefined;
  if (rs !== undefined && rs !== null) {
    const type = rs.rope_type ?? rs.type;
    if (type !== "default") throw bad("rope_scaling", rs, "only plain rotary embedding (rope_scaling null) is implemented");
  }
  if (j.use_sliding_window === true) throw bad("use_sliding_window", true, "set it to false; attention is full causal");
  if (j.use_mrope === true) throw bad("use_mrope", true, "multimodal rotary embedding is not implemented");
  if (Array.isArray(j.layer_types) && j.layer_types.some((t) => t !== "full_attention")) {
    throw bad("layer_types", j.layer_types.find((t) => t !== "full_attention"), "only full_attention layers are implemented");
  }
  if (j.quantization_config !== undefined && j.quantization_config !== null) throw bad("quantization_config", "...", "load an unquantized checkpoint");

  const need = (key: string): number => {
    const v = j[key];
    if (typeof v !== "number") throw usageError(`${file}: ${key} is missing or not a number`);
    return v;
  };
  const hidden = need("hidden_size");
  const heads = need("num_attention_heads");
  if (j.head_dim !== undefined && j.head_dim !== null && j.head_dim !== hidden / heads) {
    throw bad("head_dim", j.head_dim, `Qwen2 needs head_dim = hidden_size / num_attention_heads = ${hidden / heads}`);
  }
  const kv = typeof j.num_key_value_heads === "number" ? j.num_key_value_heads : heads;
  if (heads % kv !== 0) throw usageError(`${file}: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kv}`);
  if (hidden % heads !== 0) throw usageError(`${file}: hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}`);
  const dtype = (j.torch_dtype ?? j.dtype ?? "float32") as string;
  const ids = (key: string): number | number[] | null => {
    const v = j[key];
    if (v === undefined || v === null) return null;
    if (typeof v === "number" || (Array.isArray(v) && v.every((x) => typeof x === "number"))) return v as number | number[];
    throw usageError(`${file}: ${key} must be a token id or a list of ids, got ${JSON.stringify(v)}`);
  };
  const bos = ids("bos_token_id");
  const cfg: ModelConfig = {
    vocabSize: need("vocab_size"),
    hiddenSize: hidden,
    intermediateSize: need("intermediate_size"),
    numLayers: need("num_hidden_layers"),
    numHeads: heads,
    numKvHeads: kv,
    headDim: hidden / heads,
    ropeTheta: typeof j.rope_theta === "number" ? j.rope_theta : 10000, // HF Qwen2Config default
    rmsNormEps: typeof j.rms_norm_eps === "number" ? j.rms_norm_eps : 1e-6,
    tieWordEmbeddings: typeof j.tie_word_embeddings === "boolean" ? j.tie_word_embeddings : false, // HF default
    maxPositions: typeof j.max_position_embeddings === "number" ? j.max_position_embeddings : 32768,
    initializerRange: typeof j.initializer_range === "number" ? j.initializer_range : 0.02,
    bosTokenId: Array.isArray(bos) ? bos[0]! : bos,
    eosTokenId: ids("eos_token_id"),
    torchDtype: (["float32", "bfloat16", "float16"].includes(dtype) ? dtype : "float32") as ModelConfig["torchDtype"],
  };
  validateConfig(cfg, file);
  return cfg;
}

/** Reads and checks a config.json file. */
export function loadConfig(file: string): ModelConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw usageError(`${file}: cannot read the model config; is this a model directory?`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw usageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return configFromHf(json, file);
}

/** The config.json Hugging Face writes for Qwen2ForCausalLM (AutoModelForCausalLM loads it). */
export function configToHf(cfg: ModelConfig, torchDtype: ModelConfig["torchDtype"] = cfg.torchDtype): Record<string, unknown> {
  return {
    architectures: ["Qwen2ForCausalLM"],
    model_type: "qwen2",
    attention_dropout: 0.0,
    bos_token_id: cfg.bosTokenId,
    eos_token_id: cfg.eosTokenId,
    hidden_act: "silu",
    hidden_size: cfg.hiddenSize,
    initializer_range: cfg.initializerRange,
    intermediate_size: cfg.intermediateSize,
    max_position_embeddings: cfg.maxPositions,
    max_window_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    num_hidden_layers: cfg.numLayers,
    num_key_value_heads: cfg.numKvHeads,
    rms_norm_eps: cfg.rmsNormEps,
    rope_scaling: null,
    rope_theta: cfg.ropeTheta,
    sliding_window: cfg.maxPositions, // unused: use_sliding_window is false
    tie_word_embeddings: cfg.tieWordEmbeddings,
    torch_dtype: torchDtype,
    transformers_version: "4.45.0",
    use_cache: true,
    use_sliding_window: false,
    vocab_size: cfg.vocabSize,
  };
}
