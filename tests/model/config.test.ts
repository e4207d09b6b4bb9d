// Model config: HF config.json in and out, unsupported fields named in the error, fresh configs.
import { describe, expect, test } from "bun:test";
import { configFromHf, configToHf, freshConfig } from "../../src/model/config.ts";

/** Qwen2.5-0.5B-Instruct's config.json, as released. */
const QWEN25_05B = {
  architectures: ["Qwen2ForCausalLM"], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645,
  hidden_act: "silu", hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864,
  max_position_embeddings: 32768, max_window_layers: 21, model_type: "qwen2", num_attention_heads: 14,
  num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6, rope_theta: 1000000.0,
  sliding_window: 32768, tie_word_embeddings: true, torch_dtype: "bfloat16", transformers_version: "4.43.1",
  use_cache: true, use_sliding_window: false, vocab_size: 151936,
};

describe("model config", () => {
  test("reads a Qwen2.5 config.json", () => {
    const c = configFromHf(QWEN25_05B, "m/config.json");
    expect(c).toMatchObject({ vocabSize: 151936, hiddenSize: 896, intermediateSize: 4864, numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64, ropeTheta: 1e6, tieWordEmbeddings: true, bosTokenId: 151643, eosTokenId: 151645, torchDtype: "bfloat16" });
  });

  test("writes back a config HF reads, and reads it again to the same config", () => {
    const c = configFromHf(QWEN25_05B, "m/config.json");
    const hf = configToHf(c);
    expect(hf.model_type).toBe("qwen2");
    expect(hf.architectures).toEqual(["Qwen2ForCausalLM"]);
    expect(configFromHf(JSON.parse(JSON.stringify(hf)), "x")).toEqual(c);
  });

  const bad: [string, Record<string, unknown>][] = [
    ["rope_scaling", { rope_scaling: { type: "yarn", factor: 4 } }],
    ["use_sliding_window", { use_sliding_window: true }],
    ["architectures", { architectures: ["LlamaForCausalLM"] }],
    ["model_type", { model_type: "llama" }],
    ["hidden_act", { hidden_act: "gelu" }],
    ["attention_dropout", { attention_dropout: 0.1 }],
    ["head_dim", { head_dim: 128 }],
    ["hidden_size", { hidden_size: undefined }],
    ["num_key_value_heads", { num_key_value_heads: 3 }],
  ];
  for (const [field, patch] of bad) {
    test(`unsupported ${field} is an error naming the file and field`, () => {
      expect(() => configFromHf({ ...QWEN25_05B, ...patch }, "m/config.json")).toThrow(new RegExp(`^m/config\\.json: .*${field}`));
    });
  }

  test("rope_scaling null and head_dim equal to C/H are fine", () => {
    expect(configFromHf({ ...QWEN25_05B, rope_scaling: null, head_dim: 64 }, "x").headDim).toBe(64);
  });

  test("fresh config: defaults, headDim derived, unknown key suggested", () => {
    const c = freshConfig({ hiddenSize: 64, numHeads: 4, numKvHeads: 2 });
    expect(c.headDim).toBe(16);
    expect(() => freshConfig({ hidenSize: 64 }, "configs/demo.yaml: model")).toThrow("configs/demo.yaml: model: hidenSize is not a model key; did you mean hiddenSize?");
    expect(() => freshConfig({ numHeads: 3 })).toThrow("not a multiple of numHeads");
  });
});
