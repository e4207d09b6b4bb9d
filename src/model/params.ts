// The parameter table (style.md example 4): one row per tensor with its longrl name, shape,
// Hugging Face name, init and weight-decay flag. Allocation, seeded init, optimizer lists and
// checkpoint save/load all walk this table; a new tensor is one row. No forward math here.
// Letters: V vocab, C channels, I MLP width, H heads, Hkv kv heads, D head dim.
import { type Gpu, type Tensor, createTensor, releaseTensor, writeTensor } from "../gpu/index.ts";
import { createRng, fnv1a } from "../util/rng.ts";
import { runError } from "../util/errors.ts";
import type { ModelConfig } from "./config.ts";

/** normal: N(0, initializerRange) as HF's _init_weights does for Linear and Embedding weights. */
export type ParamInit = "normal" | "zeros" | "ones";

export interface ParamRow {
  /** longrl's name (`layers.3.wq`); the key of the parameter map and of optimizer state. */
  name: string;
  shape: number[];
  /** The tensor's name in a Hugging Face Qwen2 checkpoint. */
  hfName: string;
  init: ParamInit;
  /** AdamW weight decay applies. Off for biases and norm weights (the usual GPT/HF-Trainer split). */
  decay: boolean;
  /** Decoder layer index, absent for the embedding, final norm and LM head. */
  layer?: number;
}

/** The tensors of one decoder layer, by field (the forward pass uses these). */
export interface LayerParams {
  attnNorm: Tensor; // [C]
  wq: Tensor; // [H*D, C]
  bq: Tensor; // [H*D]
  wk: Tensor; // [Hkv*D, C]
  bk: Tensor; // [Hkv*D]
  wv: Tensor; // [Hkv*D, C]
  bv: Tensor; // [Hkv*D]
  wo: Tensor; // [C, H*D]
  mlpNorm: Tensor; // [C]
  wGate: Tensor; // [I, C]
  wUp: Tensor; // [I, C]
  wDown: Tensor; // [C, I]
}

/** Per-layer rows: [field, HF suffix after `model.layers.{i}.`, shape, init, decay]. */
function layerRows(cfg: ModelConfig): [keyof LayerParams, string, number[], ParamInit, boolean][] {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: Hkv, headDim: D } = cfg;
  return [
    ["attnNorm", "input_layernorm.weight", [C], "ones", false],
    ["wq", "self_attn.q_proj.weight", [H * D, C], "normal", true],
    ["bq", "self_attn.q_proj.bias", [H * D], "zeros", false],
    ["wk", "self_attn.k_proj.weight", [Hkv * D, C], "normal", true],
    ["bk", "self_attn.k_proj.bias", [Hkv * D], "zeros", false],
    ["wv", "self_attn.v_proj.weight", [Hkv * D, C], "normal", true],
    ["bv", "self_attn.v_proj.bias", [Hkv * D], "zeros", false],
    ["wo", "self_attn.o_proj.weight", [C, H * D], "normal", true],
    ["mlpNorm", "post_attention_layernorm.weight", [C], "ones", false],
    ["wGate", "mlp.gate_proj.weight", [I, C], "normal", true],
    ["wUp", "mlp.up_proj.weight", [I, C], "normal", true],
    ["wDown", "mlp.down_proj.weight", [C, I], "normal", true],
  ];
}

/** Every parameter of the model, in checkpoint order (HF's module order). */
export function paramTable(cfg: ModelConfig): ParamRow[] {
  const { vocabSize: V, hiddenSize: C } = cfg;
  const rows: ParamRow[] = [{ name: "embed", shape: [V, C], hfName: "model.embed_tokens.weight", init: "normal", decay: true }];
  for (let i = 0; i < cfg.numLayers; i++) {
    for (const [field, suffix, shape, init, decay] of layerRows(cfg)) {
      rows.push({ name: `layers.${i}.${field}`, shape, hfName: `model.layers.${i}.${suffix}`, init, decay, layer: i });
    }
  }
  rows.push({ name: "norm", shape: [C], hfName: "model.norm.weight", init: "ones", decay: false });
  if (!cfg.tieWordEmbeddings) rows.push({ name: "lmHead", shape: [V, C], hfName: "lm_head.weight", init: "normal", decay: true });
  return rows;
}

/** Total number of parameters (tied LM head counted once, as HF's num_parameters does). */
export function paramCount(cfg: ModelConfig): number {
  return paramTable(cfg).reduce((n, r) => n + r.shape.reduce((a, b) => a * b, 1), 0);
}

/** The model's tensors by longrl name, in table order. */
export type Params = Map<string, Tensor>;

/** One GPU tensor per row, labelled with its name; contents undefined until init or load. */
export function allocateParams(gpu: Gpu, cfg: ModelConfig): Params {
  const params: Params = new Map();
  for (const row of paramTable(cfg)) params.set(row.name, createTensor(gpu, row.shape, "f32", row.name));
  return params;
}

/** Tensors with the parameters' shapes (gradients, say), named `<prefix><name>`. */
export function allocateLike(gpu: Gpu, cfg: ModelConfig, prefix: string): Params {
  const out: Params = new Map();
  for (const row of paramTable(cfg)) out.set(row.name, createTensor(gpu, row.shape, "f32", prefix + row.name));
  return out;
}

export function releaseParams(gpu: Gpu, params: Params): void {
  for (const t of params.values()) releaseTensor(gpu, t);
}

/** The tensor of a row, or a runError naming it (a map built for another config). */
export function param(params: Params, name: string): Tensor {
  const t = params.get(name);
  if (!t) throw runError(`model parameters: no tensor ${name}; the parameter map was built for another config`);
  return t;
}

/** Typed access for the forward pass: embedding, layers, final norm, LM head (the embedding when tied). */
export function modelView(cfg: ModelConfig, params: Params): { embed: Tensor; layers: LayerParams[]; norm: Tensor; lmHead: Tensor } {
  const layers: LayerParams[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    const l = {} as Record<keyof LayerParams, Tensor>;
    for (const [field] of layerRows(cfg)) l[field] = param(params, `layers.${i}.${field}`);
    layers.push(l);
  }
  const embed = param(params, "embed");
  return { embed, layers, norm: param(params, "norm"), lmHead: cfg.tieWordEmbeddings ? embed : param(params, "lmHead") };
}

/** The optimizer's parameter list (kernels/optimizer.ts OptimParam), with the table's decay flags. */
export function optimParams(cfg: ModelConfig, params: Params, grads: Params): { name: string; param: Tensor; grad: Tensor; decay: boolean }[] {
  return paramTable(cfg).map((r) => ({ name: r.name, param: param(params, r.name), grad: param(grads, r.name), decay: r.decay }));
}


/**
 * Host values of one row's init: ones, zeros, or N(0, std) by Box-Muller from the project's RNG on
 * stream hash(name). Same (seed, name, shape) → same bits on every machine.
 */
export function initValues(row: ParamRow, seed: number, std: number): Float32Array {
  const n = row.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (row.init === "ones") out.fill(1);
  if (row.init !== "normal") return out;
  const rng = createRng(seed, fnv1a(row.name)) // the stream depends on the name, not the row's position;
  for (let i = 0; i < n; i += 2) {
    // Box-Muller: two uniforms → two independent standard normals; 1 - u keeps log() finite.
    const r = Math.sqrt(-2 * Math.log(1 - rng.next())) * std;
    const a = 2 * Math.PI * rng.next();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** Seeded HF-style init of every parameter (generated on the host one tensor at a time). */
export function initParams(gpu: Gpu, cfg: ModelConfig, params: Params, seed: number): void {
  for (const row of paramTable(cfg)) writeTensor(gpu, param(params, row.name), initValues(row, seed, cfg.initializerRange));
}

/** allocateParams + initParams. */
export function createParams(gpu: Gpu, cfg: ModelConfig, seed: number): Params {
  const params = allocateParams(gpu, cfg);
  initParams(gpu, cfg, params, seed);
  return params;
}
