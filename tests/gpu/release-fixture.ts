// Run as a child process by runtime.test.ts: exercises the two Bun+Dawn crashes of
// shared/setup.md (root object collected mid-run; destroy() with a mapped buffer). Exit 0 = survived.
import { acquireGpu, releaseGpu, tensorFrom, readTensor, createTensor } from "../../src/gpu/index.ts";
import { fill } from "../../src/kernels/elementwise.ts";

const gpu = await acquireGpu({});
// 1. Garbage collection while the device lives: the context holds Dawn's root object.
for (let i = 0; i < 20; i++) {
  const t = createTensor(gpu, [1000 + i]);
  fill(gpu, t, i);
  const v = await readTensor(gpu, t);
  if (v[0] !== i) throw new Error(`fill ${i} read back ${v[0]}`);
  Bun.gc(true);
}
// 2. A buffer mapped when the device is released: releaseGpu unmaps it first.
const staging = gpu.device.createBuffer({ size: 256, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
await staging.mapAsync(GPUMapMode.READ);
gpu.mapped.add(staging);
const t = tensorFrom(gpu, [1, 2, 3], [3]);
await readTensor(gpu, t);
releaseGpu(gpu);
Bun.gc(true);
console.log("survived");
