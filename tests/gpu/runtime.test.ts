// The GPU runtime: compile errors with file and line, the buffer pool, binding limits, grid
// folding, bad backend names, and the two crashes of shared/setup.md (in a child process).
import { describe, expect, test } from "bun:test";
import { createTensor, tensorFrom, zeroTensor, writeTensorAt, readTensorRange, dispatch, foldGrid, readTensor, releaseTensor, shader, sync, acquireGpu, listAdapters, packParams } from "../../src/gpu/index.ts";
import { loadDawn } from "../../src/gpu/dawn.ts";
import { randomArray, testGpu } from "../helpers.ts";

describe("gpu runtime", () => {
  test("the device has the adapter's limits, not WebGPU's defaults", async () => {
    const gpu = await testGpu();
    expect(gpu.limits.maxStorageBufferBindingSize).toBe((gpu.adapter.limits as unknown as Record<string, number>).maxStorageBufferBindingSize);
    expect(gpu.limits.maxBufferSize).toBeGreaterThan(268435456);
  });

  test("a WGSL compile error names the shader file and line", async () => {
    const gpu = await testGpu();
    const broken = shader("shaders/broken-for-test.wgsl", "@group(0) @binding(1) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1)\nfn main() { o[0] = 1u; }\n");
    const t = createTensor(gpu, [4]);
    dispatch(gpu, { op: "broken", shader: broken, entry: "main", bindings: [t], workgroups: 1 });
    await expect(sync(gpu)).rejects.toThrow(/^shaders\/broken-for-test\.wgsl:3:\d+: WGSL error: /);
    // The context stays usable afterwards.
    const ok = createTensor(gpu, [2]);
    await readTensor(gpu, ok);
  });

  test("an error inside an included file names that file and its line", async () => {
    const gpu = await testGpu();
    const inc = "// a helper\nfn bad() -> f32 { return 1u; }\n";
    const s = shader("shaders/includer-for-test.wgsl", "// #include shaders/inc-for-test.wgsl\n@group(0) @binding(1) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = bad(); }\n", {
      "shaders/inc-for-test.wgsl": inc,
    });
    dispatch(gpu, { op: "inc", shader: s, entry: "main", bindings: [createTensor(gpu, [1])], workgroups: 1 });
    await expect(sync(gpu)).rejects.toThrow(/^shaders\/inc-for-test\.wgsl:2:\d+: WGSL error/);
    expect(() => shader("x.wgsl", "// #include missing.wgsl\n")).toThrow("x.wgsl:1: #include missing.wgsl: not given to shader()");
  });

  test("zeroTensor clears every element, ordered after earlier work", async () => {
    const gpu = await testGpu();
    const t = tensorFrom(gpu, randomArray(1037, 5), [1037]);
    zeroTensor(gpu, t);
    expect(Array.from(await readTensor(gpu, t)).every((v) => v === 0)).toBe(true);
  });

  test("writeTensorAt and readTensorRange touch only their range; out of range is an error", async () => {
    const gpu = await testGpu();
    const t = tensorFrom(gpu, new Float32Array(37).fill(1), [37]);
    writeTensorAt(gpu, t, 30, Float32Array.from([5, 6, 7]));
    expect(Array.from(await readTensorRange(gpu, t, 29, 5))).toEqual([1, 5, 6, 7, 1]);
    expect(() => writeTensorAt(gpu, t, 35, Float32Array.from([1, 2, 3]))).toThrow("elements [35, 38) are outside it");
    await expect(readTensorRange(gpu, t, 36, 2)).rejects.toThrow("elements [36, 38) are outside it");
  });

  test("released buffers are reused by the next tensor of that size", async () => {
    const gpu = await testGpu();
    const a = createTensor(gpu, [123, 7]);
    const buf = a.buffer;
    releaseTensor(gpu, a);
    const b = createTensor(gpu, [7, 123]);
    expect(b.buffer).toBe(buf);
    releaseTensor(gpu, b);
  });

  test("a binding larger than maxStorageBufferBindingSize is refused with the op and the shape", async () => {
    const gpu = await testGpu();
    const max = gpu.limits.maxStorageBufferBindingSize!;
    if (max + 16 > gpu.limits.maxBufferSize!) return; // adapter binds whole buffers: nothing to refuse
    const big = createTensor(gpu, [max / 4 + 4], "f32", "big");
    const s = shader("shaders/noop-for-test.wgsl", "struct P { n: u32 }\n@group(0) @binding(0) var<uniform> p: P;\n@group(0) @binding(1) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = f32(p.n); }\n");
    expect(() => dispatch(gpu, { op: "noop", shader: s, entry: "main", params: packParams([1]), bindings: [big], workgroups: 1 })).toThrow(
      /noop: binding 1 \(big \[\d+\], \d+ bytes\) exceeds the adapter's maxStorageBufferBindingSize/,
    );
    releaseTensor(gpu, big);
  });

  test("grids over the per-dimension limit fold into 2-D and 3-D", async () => {
    const gpu = await testGpu();
    expect(foldGrid(gpu, "t", 65535)).toEqual([65535, 1, 1]);
    expect(foldGrid(gpu, "t", 65536)).toEqual([65535, 2, 1]);
    const [x, y, z] = foldGrid(gpu, "t", 65535 * 65535 + 1);
    expect(x * y * z).toBeGreaterThanOrEqual(65535 * 65535 + 1);
    expect(z).toBe(2);
    expect(() => foldGrid(gpu, "t", [70000, 1, 1])).toThrow(/t: grid \[70000, 1, 1\] exceeds 65535/);
  });

  test("an unknown backend is a usage error listing the backends", async () => {
    await expect(acquireGpu({ backend: "cuda" })).rejects.toThrow("--backend cuda is not a backend; use one of: vulkan, metal, d3d12, opengles");
  });

  test("Dawn lists the adapters with their backends", async () => {
    const list = await listAdapters(loadDawn().create);
    expect(list.length).toBeGreaterThan(0);
    expect(list[0]!.backend.length).toBeGreaterThan(0);
  });

  test("surviving GC mid-run and release with a mapped buffer (child process)", async () => {
    const proc = Bun.spawn([process.execPath, "tests/gpu/release-fixture.ts"], { stdout: "pipe", stderr: "pipe" });
    const code = await proc.exited;
    const out = await new Response(proc.stdout).text();
    const err = await new Response(proc.stderr).text();
    if (code !== 0) throw new Error(`fixture exited ${code}: ${err.slice(-500)}`);
    expect(out).toContain("survived");
  });
});
