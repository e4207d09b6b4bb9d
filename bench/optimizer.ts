// `longrl bench kernels`, optimizer rows: one AdamW step (global gradient norm, clip coefficient,
// fused update) over ~50M parameters split like a small Qwen2 (146 tensors), in GB/s of the bytes
// a step must move (32 per parameter: the norm reads g; the update reads g, w, m, v and writes w,
// m, v). Baseline, same run: the same norm followed by a naive update (one scalar element per
// invocation). Notes: a streaming kernel with the update's exact memory traffic and no math, the
// roofline of this access pattern on this device. Validated against the float64 twin on sampled
// elements first; a wrong kernel is not timed.
import { type Gpu, dispatch, packParams, readTensor, releaseTensor, shader, tensorFrom, writeTensor } from "../src/gpu/index.ts";
import { type AdamWState, type OptimParam, adamwStep, createAdamW, gradNorm, releaseOptimizer } from "../src/kernels/optimizer.ts";
import { adamwStepRef, createAdamWRef, gradNormRef } from "../src/ref/optimizer.ts";
import { createRng, randomFloats } from "../src/util/rng.ts";
import { runError } from "../src/util/errors.ts";
import { timeGpu } from "./timing.ts";
import type { BenchRow } from "./types.ts";

/** A Qwen2-style model of ~50M parameters: C 512, H 8, Hkv 2, D 64, ffn 1408, L 12, V 32000 (tied). */
function modelShapes(): { name: string; shape: number[]; decay: boolean }[] {
  const [C, kv, F, L, V] = [512, 2 * 64, 1408, 12, 32000];
  const out = [{ name: "embed_tokens", shape: [V, C], decay: true }];
  for (let l = 0; l < L; l++) {
    const p = `layers.${l}.`;
    out.push(
      { name: `${p}q_proj.weight`, shape: [C, C], decay: true },
      { name: `${p}q_proj.bias`, shape: [C], decay: false },
      { name: `${p}k_proj.weight`, shape: [kv, C], decay: true },
      { name: `${p}k_proj.bias`, shape: [kv], decay: false },
      { name: `${p}v_proj.weight`, shape: [kv, C], decay: true },
      { name: `${p}v_proj.bias`, shape: [kv], decay: false },
      { name: `${p}o_proj.weight`, shape: [C, C], decay: true },
      { name: `${p}gate_proj.weight`, shape: [F, C], decay: true },
      { name: `${p}up_proj.weight`, shape: [F, C], decay: true },
      { name: `${p}down_proj.weight`, shape: [C, F], decay: true },
      { name: `${p}input_layernorm.weight`, shape: [C], decay: false },
      { name: `${p}post_attention_layernorm.weight`, shape: [C], decay: false },
    );
  }
  out.push({ name: "norm.weight", shape: [C], decay: false });
  return out;
}

// Bindings as shaders/optimizer.wgsl's adamw entries (0 params, 1 clip, 2 g, 3 w, 4 m, 5 v).
const BASELINES = shader(
  "bench/optimizer.ts",
  `struct Params { n: u32, per: u32, decay_mul: f32, beta1: f32, beta2: f32, step_size: f32, bc2_sqrt: f32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> clip: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> w: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read> g4: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> w4: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> m4: array<vec4f>;
@group(0) @binding(9) var<storage, read_write> v4: array<vec4f>;

// The textbook kernel: one element per invocation, no skip of non-finite norms.
@compute @workgroup_size(256)
fn adamw_naive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * 256u + lid;
  if (i >= p.n) { return; }
  let gc = g[i] * clip[1];
  let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * gc;
  let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * gc * gc;
  w[i] = w[i] * p.decay_mul - p.step_size * m1 / (sqrt(v1) / p.bc2_sqrt + p.eps);
  m[i] = m1;
  v[i] = v1;
}

// The roofline: the update's loads and stores (vec4, per of them per invocation as ours), no math.
@compute @workgroup_size(256)
fn stream(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let first = (wid.x + wid.y * nwg.x) * 256u * p.per + lid;
  for (var k = 0u; k < p.per; k++) {
    let i = first + k * 256u;
    if (i < p.n) {
      w4[i] = w4[i] + p.eps * g4[i];
      m4[i] = m4[i] * p.decay_mul;
      v4[i] = v4[i] * p.decay_mul;
    }
  }
}
`,
);

function naiveUpdate(gpu: Gpu, state: AdamWState, step: number): void {
  const o = state.opts;
  const [b1, b2] = o.betas;
  for (const s of state.slots) {
    const f32 = [s.decay ? 1 - o.lr * o.weightDecay : 1, b1, b2, o.lr / (1 - b1 ** step), Math.sqrt(1 - b2 ** step), o.eps];
    dispatch(gpu, { op: "adamw_naive", shader: BASELINES, entry: "adamw_naive", params: packParams([s.param.size, 0], f32), bindings: [state.clip, s.grad, s.param, s.m, s.v], workgroups: Math.ceil(s.param.size / 256) });
  }
}

function stream(gpu: Gpu, state: AdamWState): void {
  const per = gpu.isSoftware ? 16 : 1; // as src/kernels/optimizer.ts
  for (const s of state.slots) {
    const n4 = s.param.size / 4; // every tensor of modelShapes() holds a multiple of 4
    const bindings = [undefined, undefined, undefined, undefined, undefined, s.grad, s.param, s.m, s.v];
    dispatch(gpu, { op: "stream", shader: BASELINES, entry: "stream", params: packParams([n4, per], [1, 0, 0, 0, 0, 0]), bindings, workgroups: Math.ceil(n4 / (256 * per)) });
  }
}

/** Checks w, m, v at sampled elements of every tensor after one step from (w0, g, m = v = 0). */
async function validate(gpu: Gpu, name: string, state: AdamWState, w0: Float32Array[], g: Float32Array[]): Promise<void> {
  const { coef } = gradNormRef(g, state.opts.maxGradNorm);
  const rng = createRng(5, 17);
  for (const [t, s] of state.slots.entries()) {
    const picks = [0, s.param.size - 1, ...Array.from({ length: 14 }, () => rng.int(s.param.size))];
    // The twin on the sampled scalars, gradients pre-scaled by the global clip coefficient.
    const ref = createAdamWRef(picks.map((i, k) => ({ name: `${k}`, param: [w0[t]![i]!], grad: [coef * g[t]![i]!], decay: s.decay })), { ...state.opts, maxGradNorm: 0 });
    adamwStepRef(ref, { step: 1 });
    const got = [await readTensor(gpu, s.param), await readTensor(gpu, s.m), await readTensor(gpu, s.v)];
    picks.forEach((i, k) => {
      const r = ref.slots[k]!;
      const want = [r.param[0]!, r.m[0]!, r.v[0]!];
      want.forEach((wv, j) => {
        const gv = got[j]![i]!;
        if (!(Math.abs(gv - wv) <= 1e-6 * Math.abs(wv) + 1e-9)) {
          throw runError(`bench optimizer: ${name} is wrong at ${s.name}.${["w", "m", "v"][j]}[${i}]: gpu ${gv} ref ${wv}`);
        }
      });
    });
  }
}

export async function benchOptimizer(gpu: Gpu): Promise<BenchRow[]> {
  const shapes = modelShapes();
  const N = shapes.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const w0 = shapes.map((s, i) => randomFloats(s.shape.reduce((a, b) => a * b, 1), 1 + i, 0.05));
  const g = shapes.map((s, i) => randomFloats(s.shape.reduce((a, b) => a * b, 1), 1000 + i, 1e-3));
  const params: OptimParam[] = shapes.map((s, i) => ({ name: s.name, param: tensorFrom(gpu, w0[i]!, s.shape), grad: tensorFrom(gpu, g[i]!, s.shape), decay: s.decay }));
  const state = createAdamW(gpu, params, { lr: 1e-4 }); // clip 1.0 active: |g| ~ 1e-3 over 50M parameters has norm ~4
  // Validate both updates from the same start, then time from there (values drift, which is fine).
  adamwStep(gpu, state, { step: 1 });
  await validate(gpu, "adamw", state, w0, g);
  for (const [i, s] of state.slots.entries()) {
    writeTensor(gpu, s.param, w0[i]!);
    for (const t of [s.m, s.v]) writeTensor(gpu, t, new Float32Array(t.size));
  }
  gradNorm(gpu, state.slots.map((s) => s.grad), state.clip, state.opts);
  naiveUpdate(gpu, state, 1);
  await validate(gpu, "naive adamw", state, w0, g);

  let step = 2;
  const ours = await timeGpu(gpu, () => adamwStep(gpu, state, { step: step++ }), { samples: 3 });
  const naive = await timeGpu(gpu, () => {
    gradNorm(gpu, state.slots.map((s) => s.grad), state.clip, state.opts);
    naiveUpdate(gpu, state, step++);
  }, { samples: 3 });
  const norm = await timeGpu(gpu, () => gradNorm(gpu, state.slots.map((s) => s.grad), state.clip, state.opts), { samples: 3 });
  const roof = await timeGpu(gpu, () => stream(gpu, state), { samples: 3 });
  const update = ours.ms - norm.ms;
  const shape = `N=${(N / 1e6).toFixed(1)}M in ${shapes.length} tensors`;
  const rows: BenchRow[] = [
    {
      kernel: "adamw step",
      shape,
      ms: ours.ms,
      rate: (32 * N) / ours.ms / 1e6,
      unit: "GB/s",
      baseline: "same norm + naive update",
      baselineMs: naive.ms,
      ratio: naive.ms / ours.ms,
      notes: `update alone ~${((28 * N) / update / 1e6).toFixed(2)} GB/s = ${((100 * roof.ms) / update).toFixed(0)}% of a no-math stream with its traffic (${((28 * N) / roof.ms / 1e6).toFixed(2)} GB/s)`,
    },
    { kernel: "gradNorm", shape, ms: norm.ms, rate: (4 * N) / norm.ms / 1e6, unit: "GB/s", notes: `${((100 * norm.ms) / ours.ms).toFixed(0)}% of the step` },
  ];
  releaseOptimizer(gpu, state);
  for (const p of params) for (const t of [p.param, p.grad]) releaseTensor(gpu, t);
  return rows;
}
