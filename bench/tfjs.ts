// The peer a JavaScript user would otherwise pick: tfjs-backend-webgpu's matMul, run under Bun
// on the same Dawn instance (navigator.gpu = longrl's root object, as shared/perf.md found works).
// Only from source, with the bench's dev dependencies installed (`cd bench && npm ci`); the
// compiled binary does not carry tfjs, and says so.
import type { Gpu } from "../src/gpu/index.ts";
import { randomFloats } from "../src/util/rng.ts";

// Specifiers built at run time so that `bun build --compile` does not try to bundle tfjs.
const TFJS_CORE = ["@tensorflow", "tfjs-core"].join("/");
const TFJS_WEBGPU = ["@tensorflow", "tfjs-backend-webgpu"].join("/");

export interface TfjsMatmul {
  n: number;
  ms: number;
}

type Tf = {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
};
type TfTensor = { data(): Promise<Float32Array>; dispose(): void };

/** Times tfjs matMul at each n, or returns why it cannot (not installed, no backend). */
export async function benchTfjsMatmul(gpu: Gpu, sizes: number[], maxRelErr = 1e-3): Promise<TfjsMatmul[] | string> {
  let tf: Tf;
  try {
    const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
    if (!g.navigator?.gpu) Object.defineProperty(globalThis, "navigator", { value: { gpu: gpu.root }, configurable: true });
    tf = (await import(TFJS_CORE)) as Tf;
    await import(TFJS_WEBGPU);
    if (!(await tf.setBackend("webgpu"))) return "tfjs: the webgpu backend did not start";
    await tf.ready();
  } catch (err) {
    return `tfjs not available (${(err as Error).message.split("\n")[0]}); run from source after 'cd bench && npm ci'`;
  }
  const out: TfjsMatmul[] = [];
  for (const n of sizes) {
    const av = randomFloats(n * n, 1);
    const bv = randomFloats(n * n, 2);
    const a = tf.tensor2d(av, [n, n]);
    const b = tf.tensor2d(bv, [n, n]);
    const c0 = tf.matMul(a, b); // warm-up, and a spot check of one element
    const got = await c0.data();
    let want = 0;
    for (let k = 0; k < n; k++) want += av[k]! * bv[k * n]!;
    c0.dispose();
    if (!(Math.abs(got[0]! - want) <= maxRelErr * (1 + Math.abs(want)))) return `tfjs matMul gave a wrong C[0,0] at n=${n}`;
    const times: number[] = [];
    for (let s = 0; s < 5; s++) {
      const iters = n >= 2048 ? 1 : n >= 1024 ? 2 : 8;
      const t = performance.now();
      let last: TfTensor | undefined;
      for (let i = 0; i < iters; i++) {
        last?.dispose();
        last = tf.matMul(a, b);
      }
      await last!.data(); // waits for the queue
      last!.dispose();
      times.push((performance.now() - t) / iters);
    }
    times.sort((x, y) => x - y);
    out.push({ n, ms: times[2]! });
    a.dispose();
    b.dispose();
  }
  return out;
}
