// Kernel profiling (src/gpu/profile.ts): every dispatch timed in a pass of its own, named by stage,
// part, op and entry; results unchanged; more dispatches than one query set holds; errors.
import { describe, expect, test } from "bun:test";
import { canProfile, createTensor, formatProfile, profilePart, profileStage, readTensor, startProfile, stopProfile, sync, tensorFrom } from "../../src/gpu/index.ts";
import { PROFILE_CAPACITY } from "../../src/gpu/profile.ts";
import { fill, scale } from "../../src/kernels/elementwise.ts";
import { matmul } from "../../src/kernels/matmul.ts";
import { randomArray, testGpu } from "../helpers.ts";

describe("kernel profile", () => {
  test("lavapipe and other adapters with timestamp queries can profile; without them startProfile says why", async () => {
    const gpu = await testGpu();
    if (gpu.isSoftware) expect(canProfile(gpu)).toBe(true); // lavapipe offers timestamp-query (CI runs here)
    if (!canProfile(gpu)) expect(() => startProfile(gpu)).toThrow(/timestamp-query/);
  });

  test("names each dispatch by stage, part, op and entry; counts every one; leaves results unchanged", async () => {
    const gpu = await testGpu();
    const [M, N, K] = [37, 29, 53];
    const a = tensorFrom(gpu, randomArray(M * K, 1), [M, K]);
    const b = tensorFrom(gpu, randomArray(K * N, 2), [K, N]);
    const plain = createTensor(gpu, [M, N]);
    matmul(gpu, a, b, plain);
    const want = (await readTensor(gpu, plain)) as Float32Array;
    startProfile(gpu);
    expect(() => startProfile(gpu)).toThrow(/already open/);
    profileStage(gpu, "sft");
    profilePart(gpu, "forward");
    const c = createTensor(gpu, [M, N]);
    for (let i = 0; i < 3; i++) matmul(gpu, a, b, c);
    profilePart(gpu, "");
    const d = createTensor(gpu, [M, N]);
    scale(gpu, c, d, 2);
    const got = (await readTensor(gpu, d)) as Float32Array;
    const rows = await stopProfile(gpu);
    for (let i = 0; i < want.length; i++) expect(got[i]).toBe(2 * want[i]!);
    const mm = rows.find((r) => /^sft forward matmul\//.test(r.name));
    expect(mm?.count).toBe(3);
    expect(mm!.ms).toBeGreaterThan(0);
    expect(rows.find((r) => /^sft scale\//.test(r.name))?.count).toBe(1);
    expect(rows.reduce((n, r) => n + r.count, 0)).toBe(4);
    const text = formatProfile(rows);
    expect(text).toMatch(/^kernel time \d+\.\d\d s in 4 dispatches/);
    expect(text).toMatch(/sft forward +\d+\.\d{3} s +\d+\.\d%/);
    await expect(stopProfile(gpu)).rejects.toThrow(/no kernel profile is open/);
  });

  test("more dispatches than one query set holds: flushed early, each keeps its own parameters", async () => {
    const gpu = await testGpu();
    const n = PROFILE_CAPACITY + 77;
    const outs = Array.from({ length: 4 }, () => createTensor(gpu, [n]));
    startProfile(gpu);
    // Each dispatch writes its own value (a uniform parameter) into a one-element view of a tensor.
    const slots = Array.from({ length: n }, () => createTensor(gpu, [1]));
    slots.forEach((t, i) => fill(gpu, t, i + 0.5));
    await sync(gpu); // drains part of the profile on the way
    for (const o of outs) fill(gpu, o, 3);
    const rows = await stopProfile(gpu);
    expect(rows.find((r) => r.name === "fill/fill")?.count).toBe(n + outs.length);
    const vals = await Promise.all(slots.filter((_, i) => i % 97 === 0 || i >= n - 3).map((t) => readTensor(gpu, t)));
    const idx = slots.map((_, i) => i).filter((i) => i % 97 === 0 || i >= n - 3);
    vals.forEach((v, j) => expect(v[0]).toBe(idx[j]! + 0.5));
    expect(((await readTensor(gpu, outs[3]!)) as Float32Array).every((x) => x === 3)).toBe(true);
  });
});
