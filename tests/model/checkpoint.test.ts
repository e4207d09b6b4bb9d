// Parameters and checkpoints on the GPU: seeded init (bits and statistics), save → load round trips
// (F32 bit-exact, BF16 equal to host rounding), tied vs untied, tensor errors, atomic save.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTensor } from "../../src/gpu/index.ts";
import { freshConfig, type ModelConfig } from "../../src/model/config.ts";
import { createParams, initValues, modelView, paramCount, paramTable, type Params } from "../../src/model/params.ts";
import { bf16BitsToF32, f32ToBf16Bits, readHeader, uploadTensor, writeSafetensors } from "../../src/model/safetensors.ts";
import { createTensor } from "../../src/gpu/index.ts";
import { randomArray } from "../helpers.ts";
import { loadCheckpoint, saveCheckpoint } from "../../src/model/checkpoint.ts";
import { testGpu } from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "longrl-ckpt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Awkward sizes: V=37, C=24, I=40, H=4 (D=6), Hkv=2, L=2. */
const tiny = (tied: boolean): ModelConfig => freshConfig({ vocabSize: 37, hiddenSize: 24, intermediateSize: 40, numLayers: 2, numHeads: 4, numKvHeads: 2, tieWordEmbeddings: tied, eosTokenId: 3 });

async function host(params: Params): Promise<Map<string, Float32Array>> {
  const gpu = await testGpu();
  const out = new Map<string, Float32Array>();
  for (const [name, t] of params) out.set(name, (await readTensor(gpu, t)) as Float32Array);
  return out;
}

const u32 = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe("parameter table and init", () => {
  test("rows, HF names and shapes of Qwen2", () => {
    const cfg = tiny(false);
    const rows = paramTable(cfg);
    expect(rows.length).toBe(1 + 12 * 2 + 2);
    const q = rows.find((r) => r.hfName === "model.layers.1.self_attn.q_proj.bias")!;
    expect(q).toMatchObject({ name: "layers.1.bq", shape: [24], init: "zeros", decay: false });
    expect(rows.find((r) => r.hfName === "model.layers.0.self_attn.k_proj.weight")!.shape).toEqual([12, 24]);
    expect(rows.find((r) => r.hfName === "model.layers.0.self_attn.o_proj.weight")!.shape).toEqual([24, 24]);
    expect(rows.find((r) => r.hfName === "model.layers.0.mlp.down_proj.weight")!.shape).toEqual([24, 40]);
    expect(rows.some((r) => r.hfName.includes("o_proj.bias") || r.hfName.includes("mlp") && r.hfName.endsWith("bias"))).toBe(false);
    expect(paramTable(tiny(true)).some((r) => r.hfName === "lm_head.weight")).toBe(false);
    expect(paramCount(tiny(false)) - paramCount(tiny(true))).toBe(37 * 24);
  });

  test("same seed → same bits; another seed differs; std ≈ 0.02, mean ≈ 0", async () => {
    const gpu = await testGpu();
    const cfg = tiny(false);
    const a = await host(createParams(gpu, cfg, 7));
    const b = await host(createParams(gpu, cfg, 7));
    const c = await host(createParams(gpu, cfg, 8));
    for (const [name, v] of a) expect(u32(v)).toEqual(u32(b.get(name)!));
    expect(u32(a.get("embed")!)).not.toEqual(u32(c.get("embed")!));
    expect(Array.from(a.get("layers.0.bq")!).every((x) => x === 0)).toBe(true);
    expect(Array.from(a.get("norm")!).every((x) => x === 1)).toBe(true);
    const big = initValues({ name: "w", shape: [400, 500], hfName: "w", init: "normal", decay: true }, 1, 0.02);
    let s = 0, s2 = 0;
    for (const x of big) { s += x; s2 += x * x; }
    const mean = s / big.length;
    expect(Math.abs(mean)).toBeLessThan(2e-4);
    expect(Math.abs(Math.sqrt(s2 / big.length - mean * mean) - 0.02)).toBeLessThan(2e-4);
  });

  test("modelView: typed layers; tied LM head is the embedding", async () => {
    const gpu = await testGpu();
    const cfg = tiny(true);
    const v = modelView(cfg, createParams(gpu, cfg, 1));
    expect(v.layers.length).toBe(2);
    expect(v.layers[1]!.wGate.shape).toEqual([40, 24]);
    expect(v.lmHead).toBe(v.embed);
  });
});

describe("checkpoints", () => {
  for (const tied of [false, true]) {
    test(`F32 save → load is bit-exact (tied ${tied}), with HF files`, async () => {
      const gpu = await testGpu();
      const cfg = tiny(tied);
      const before = await host(createParams(gpu, cfg, 3));
      const params = createParams(gpu, cfg, 3);
      const d = join(dir, `f32-${tied}`);
      await saveCheckpoint(gpu, d, { config: cfg, params, extraFiles: { "tokenizer.json": new TextEncoder().encode("{}") }, generation: { temperature: 0.7 } });
      expect(readdirSync(d).sort()).toEqual(["config.json", "generation_config.json", "model.safetensors", "tokenizer.json"]);
      expect(JSON.parse(readFileSync(join(d, "generation_config.json"), "utf8"))).toMatchObject({ eos_token_id: 3, temperature: 0.7 });
      expect(readHeader(join(d, "model.safetensors")).tensors.has("lm_head.weight")).toBe(!tied);
      const loaded = await loadCheckpoint(gpu, d);
      expect(loaded.config).toEqual(cfg);
      const after = await host(loaded.params);
      for (const [name, v] of before) expect(u32(after.get(name)!)).toEqual(u32(v));
    });
  }

  test("BF16 save → load equals host-side round-to-nearest-even", async () => {
    const gpu = await testGpu();
    const cfg = tiny(true);
    const params = createParams(gpu, cfg, 4);
    const before = await host(params);
    const d = join(dir, "bf16");
    await saveCheckpoint(gpu, d, { config: cfg, params, dtype: "BF16" });
    expect(JSON.parse(readFileSync(join(d, "config.json"), "utf8")).torch_dtype).toBe("bfloat16");
    const after = await host((await loadCheckpoint(gpu, d)).params);
    for (const [name, v] of before) {
      const want = Float32Array.from(v, (x) => bf16BitsToF32(f32ToBf16Bits(x)));
      expect(u32(after.get(name)!)).toEqual(u32(want));
    }
  });

  /** A checkpoint of `cfg` whose safetensors holds the given tensors (values don't matter). */
  async function withTensors(name: string, cfg: ModelConfig, edit: (rows: { name: string; shape: number[] }[]) => { name: string; shape: number[] }[]): Promise<string> {
    const gpu = await testGpu();
    const d = join(dir, name);
    await saveCheckpoint(gpu, d, { config: cfg, params: createParams(gpu, cfg, 1) });
    const rows = edit(paramTable(cfg).map((r) => ({ name: r.hfName, shape: r.shape })));
    await writeSafetensors(join(d, "model.safetensors"), rows.map((r) => ({ ...r, data: () => new Float32Array(r.shape.reduce((a, b) => a * b, 1)) })), "F32");
    return d;
  }

  test("missing, extra and mis-shaped tensors name the tensor and file", async () => {
    const gpu = await testGpu();
    const cfg = tiny(false);
    const missing = await withTensors("missing", cfg, (rows) => rows.filter((r) => r.name !== "model.layers.1.mlp.up_proj.weight"));
    await expect(loadCheckpoint(gpu, missing)).rejects.toThrow(`${missing}/model.safetensors: tensor model.layers.1.mlp.up_proj.weight is missing`);
    const extra = await withTensors("extra", cfg, (rows) => [...rows, { name: "model.layers.0.self_attn.o_proj.bias", shape: [24] }]);
    await expect(loadCheckpoint(gpu, extra)).rejects.toThrow("unexpected tensor model.layers.0.self_attn.o_proj.bias");
    const shaped = await withTensors("shaped", cfg, (rows) => rows.map((r) => (r.name === "model.norm.weight" ? { ...r, shape: [25] } : r)));
    await expect(loadCheckpoint(gpu, shaped)).rejects.toThrow("tensor model.norm.weight has shape [25], the config needs [24]");
    const noHead = await withTensors("nohead", cfg, (rows) => rows.filter((r) => r.name !== "lm_head.weight"));
    await expect(loadCheckpoint(gpu, noHead)).rejects.toThrow("tensor lm_head.weight is missing");
  });

  test("tied config ignores a stored lm_head.weight (and rotary inv_freq buffers)", async () => {
    const gpu = await testGpu();
    const cfg = tiny(true);
    const d = await withTensors("tiedhead", cfg, (rows) => [...rows, { name: "lm_head.weight", shape: [37, 24] }, { name: "model.layers.0.self_attn.rotary_emb.inv_freq", shape: [3] }]);
    expect((await loadCheckpoint(gpu, d)).config.tieWordEmbeddings).toBe(true);
  });

  test("chunked upload (a tensor larger than the chunk) reads every element, F32 and BF16", async () => {
    const gpu = await testGpu();
    const x = randomArray(7 * 13, 11);
    for (const dtype of ["F32", "BF16"] as const) {
      const f = join(dir, `chunk-${dtype}.safetensors`);
      await writeSafetensors(f, [{ name: "pad", shape: [3], data: () => new Float32Array(3) }, { name: "x", shape: [7, 13], data: () => x }], dtype);
      const t = createTensor(gpu, [7, 13]);
      uploadTensor(gpu, readHeader(f).tensors.get("x")!, t, 10);
      const want = dtype === "F32" ? x : Float32Array.from(x, (v) => bf16BitsToF32(f32ToBf16Bits(v)));
      expect(u32((await readTensor(gpu, t)) as Float32Array)).toEqual(u32(want));
    }
  });

  test("atomic save: a failure mid-save leaves the previous checkpoint intact and no temp dir", async () => {
    const gpu = await testGpu();
    const cfg = tiny(true);
    const d = join(dir, "atomic");
    const first = createParams(gpu, cfg, 5);
    await saveCheckpoint(gpu, d, { config: cfg, params: first });
    const weights = readFileSync(join(d, "model.safetensors"));
    await expect(saveCheckpoint(gpu, d, { config: cfg, params: createParams(gpu, cfg, 6), extraFiles: { "tokenizer.json": join(dir, "no-such-file") } })).rejects.toThrow("no-such-file");
    expect(readFileSync(join(d, "model.safetensors")).equals(weights)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.startsWith("atomic"))).toEqual(["atomic"]);
    await saveCheckpoint(gpu, d, { config: cfg, params: createParams(gpu, cfg, 6) });
    expect(readFileSync(join(d, "model.safetensors")).equals(weights)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.startsWith("atomic"))).toEqual(["atomic"]);
    expect(existsSync(`${d}.tmp-${process.pid}`)).toBe(false);
  });
});
