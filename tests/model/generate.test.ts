// Generation with the shared-prefix KV cache: decoded log-probs equal a full forward's, G branches of
// one prefill equal G independent prefills, seeds repeat, EOS and stop strings end samples.
import { afterAll, expect, test } from "bun:test";
import { type Gpu, readTensor, releaseTensor } from "../../src/gpu/index.ts";
import { packGroups } from "../../src/model/batch.ts";
import { freshConfig } from "../../src/model/config.ts";
import { modelForward, releaseBatch, releaseForward, uploadBatch } from "../../src/model/forward.ts";
import { type Sample, generate, lmHeadBlockRows } from "../../src/model/generate.ts";
import { type Params, createParams, releaseParams } from "../../src/model/params.ts";
import { expectClose, testGpu } from "../helpers.ts";

const cfg = freshConfig({
  vocabSize: 53, hiddenSize: 32, intermediateSize: 40, numLayers: 2, numHeads: 4, numKvHeads: 1,
  ropeTheta: 10000, tieWordEmbeddings: false, initializerRange: 0.25,
});
const prompts = [[3, 14, 15, 9, 26], [5, 35, 8, 9, 7, 9, 3, 2, 38]];
let gpu: Gpu;
let params: Params;
afterAll(() => params && releaseParams(gpu, params));

async function setup() {
  gpu = await testGpu();
  params ??= createParams(gpu, cfg, 21);
}

async function fullForwardLogps(s: Sample, temperature: number): Promise<Float32Array> {
  const batch = uploadBatch(gpu, cfg, packGroups([{ prompt: prompts[s.prompt]!, responses: [s.ids] }]));
  const res = modelForward(gpu, cfg, params, batch, { temperature });
  const logp = (await readTensor(gpu, res.logp)) as Float32Array;
  releaseForward(gpu, res.state);
  releaseTensor(gpu, res.logp);
  releaseTensor(gpu, res.entropy);
  releaseBatch(gpu, batch);
  return logp;
}

test("decoding with the cache gives the full forward's log-probs", async () => {
  await setup();
  const samples = await generate(gpu, cfg, params, prompts, { n: 3, maxNewTokens: 7, temperature: 0.8, topP: 0.9, seed: 4 });
  expect(samples.length).toBe(6);
  expect(samples.map((s) => [s.prompt, s.sample])).toEqual([[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
  for (const s of samples) {
    expect(s.ids.length).toBe(7);
    expect(s.finish).toBe("length");
    expectClose(`decode.logp[prompt ${s.prompt} sample ${s.sample}]`, s.logps, await fullForwardLogps(s, 0.8), [s.ids.length], 1e-4, 1e-4);
  }
  // Different samples of one prompt differ (the rows draw from different streams).
  expect(new Set(samples.map((s) => s.ids.join(","))).size).toBeGreaterThan(1);
});

test("G branches of one prefill equal G independent prefills; same seed, same samples", async () => {
  await setup();
  const opts = { maxNewTokens: 5, temperature: 1, seed: 9 };
  const batched = await generate(gpu, cfg, params, prompts, { ...opts, n: 2 });
  for (let r = 0; r < batched.length; r++) {
    const [alone] = await generate(gpu, cfg, params, [prompts[batched[r]!.prompt]!], { ...opts, n: 1, rowOffset: r });
    expect(alone!.ids).toEqual(batched[r]!.ids);
    expectClose(`branch.logp[${r}]`, alone!.logps, batched[r]!.logps, [alone!.ids.length], 1e-5, 1e-5);
  }
  const again = await generate(gpu, cfg, params, prompts, { ...opts, n: 2 });
  expect(again.map((s) => s.ids)).toEqual(batched.map((s) => s.ids));
});

test("promptRows: a prompt keeps its samples whatever call, and place in it, it is sampled in", async () => {
  await setup();
  const opts = { n: 3, maxNewTokens: 6, temperature: 1, seed: 17 };
  const together = await generate(gpu, cfg, params, prompts, opts);
  // The second prompt alone, then both in reverse order, each telling generate the rows its prompts had.
  const alone = await generate(gpu, cfg, params, [prompts[1]!], { ...opts, promptRows: [3] });
  const reversed = await generate(gpu, cfg, params, [prompts[1]!, prompts[0]!], { ...opts, promptRows: [3, 0] });
  expect(alone.map((s) => s.ids)).toEqual(together.slice(3).map((s) => s.ids));
  expect(reversed.map((s) => s.ids)).toEqual([...together.slice(3), ...together.slice(0, 3)].map((s) => s.ids));
  // Without them, the reversed call draws other samples for the same prompts.
  const plain = await generate(gpu, cfg, params, [prompts[1]!, prompts[0]!], opts);
  expect(plain.map((s) => s.ids)).not.toEqual(reversed.map((s) => s.ids));
  await expect(generate(gpu, cfg, params, prompts, { ...opts, promptRows: [0] })).rejects.toThrow("promptRows has 1 entries for 2 prompts");
  await expect(generate(gpu, cfg, params, prompts, { ...opts, promptRows: [0, -3] })).rejects.toThrow("promptRows entry -3");
});

test("EOS ids and stop strings end a sample; the others run to the limit", async () => {
  await setup();
  const opts = { n: 3, maxNewTokens: 6, temperature: 1, seed: 2 };
  const free = await generate(gpu, cfg, params, [prompts[0]!], opts);
  const eos = free[1]!.ids[2]!;
  const stopped = await generate(gpu, cfg, params, [prompts[0]!], { ...opts, stopIds: [eos] });
  const cut = stopped[1]!;
  expect(cut.finish).toBe("eos");
  expect(cut.ids).toEqual(free[1]!.ids.slice(0, cut.ids.length));
  expect(cut.ids.at(-1)).toBe(eos);
  expect(cut.ids.length).toBeLessThanOrEqual(3);
  const decode = (ids: number[]) => ids.map((i) => `<${i}>`).join("");
  const marker = `<${free[0]!.ids[1]}>`;
  const byString = await generate(gpu, cfg, params, [prompts[0]!], { ...opts, stopStrings: [marker], decode });
  expect(byString[0]!.finish).toBe("stop");
  expect(decode(byString[0]!.ids).endsWith(marker)).toBe(true);
});

test("finished rows leave the batch: the samples and log-probs are those of decoding every row to the end", async () => {
  await setup();
  const three = [...prompts, [7, 7, 1, 40, 2, 11, 19]];
  // 3 prompts x 8 = 24 rows; three stop ids end rows at scattered steps, so the live rows fall to half and below.
  const opts = { n: 8, maxNewTokens: 24, temperature: 1, seed: 31, stopIds: [4, 17, 30] };
  const full = await generate(gpu, cfg, params, three, { ...opts, compact: false });
  const lens = full.map((x) => x.ids.length);
  const liveAt = (s: number) => lens.filter((n) => n > s + 1).length; // rows still decoding after step s
  expect(lens.filter((n) => n === 24).length).toBeGreaterThan(0); // some row runs to the end
  expect(Array.from({ length: 23 }, (_, s) => liveAt(s)).some((n) => n > 0 && n <= 6)).toBe(true); // below the 9-row floor: two compactions
  const compact = await generate(gpu, cfg, params, three, opts);
  compact.forEach((x, r) => {
    expect([x.prompt, x.sample, x.finish]).toEqual([full[r]!.prompt, full[r]!.sample, full[r]!.finish]);
    expect(x.ids).toEqual(full[r]!.ids);
    expect(x.logps).toEqual(full[r]!.logps); // bit for bit
  });
});

test("a prompt past the model's positions is refused with the fix", async () => {
  await setup();
  const small = { ...cfg, maxPositions: 8 };
  await expect(generate(gpu, small, params, prompts, { n: 1, maxNewTokens: 4, temperature: 1, seed: 0 })).rejects.toThrow(/exceeds the model's 8 positions; lower max new tokens/);
});

test("an LM head in vocab blocks (a table larger than one binding) samples the same tokens with the same log-probs", async () => {
  await setup();
  const opts = { n: 2, maxNewTokens: 6, temperature: 0.9, topP: 0.95, seed: 11 };
  const whole = await generate(gpu, cfg, params, prompts, opts);
  // V = 53: blocks of 16, 16, 16 and a last one of 5 rows.
  const blocked = await generate(gpu, cfg, params, prompts, { ...opts, lmHeadBlockRows: 16 });
  expect(blocked.map((s) => s.ids)).toEqual(whole.map((s) => s.ids));
  blocked.forEach((s, i) => expectClose(`blocked.logp[${i}]`, s.logps, whole[i]!.logps, [s.ids.length], 1e-5, 1e-5));
  // The plan: all of V when it fits; else the most rows that fit, a multiple of 8, balanced.
  expect(lmHeadBlockRows(1 << 27, 896, 32768)).toBe(32768);
  const rows = lmHeadBlockRows(1 << 27, 896, 151936); // Qwen2.5-0.5B's head on lavapipe's 128 MiB
  expect(rows % 8).toBe(0);
  expect(rows * 896 * 4).toBeLessThanOrEqual(1 << 27);
  expect(Math.ceil(151936 / rows)).toBe(Math.ceil((151936 * 896 * 4) / (1 << 27)));
  expect(() => lmHeadBlockRows(1000, 896, 151936)).toThrow("fewer than 8 LM-head rows");
});
