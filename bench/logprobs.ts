// `longrl bench kernels`, token log-probs + entropy through the LM head (src/kernels/logprobs.ts),
// forward and forward + backward. Validated against the float64 twin first: whole outputs on a
// small case with chunks and vocab blocks forced, then sampled positions at the timed size.
// Rate: the matmul FLOPs actually run (forward 2·N·V·C; forward + backward 8·N·V·C: logits,
// recomputed logits, dh, dW) over time, and tokens/s. Baseline, same run: the same four
// matmuls per tile alone, so the ratio is the share of time that is matmul (≤ 1; the rest is the
// softmax/entropy passes and the chunk copies).
// Size: N = 2048, C = 896 (Qwen2.5-0.5B), V = 32768 on a GPU; N = 256 on lavapipe, where one
// forward + backward at N = 2048 takes about a minute.
import { type Gpu, type Tensor, createTensor, readTensor, releaseTensor, tensorFrom } from "../src/gpu/index.ts";
import { matmul } from "../src/kernels/matmul.ts";
import { logprobsBackward, logprobsForward, logprobsPlan, MASKED_TARGET, type LogprobsOutputs } from "../src/kernels/logprobs.ts";
import { logprobsBackwardRef, logprobsForwardRef } from "../src/ref/logprobs.ts";
import { createRng, randomFloats } from "../src/util/rng.ts";
import { runError } from "../src/util/errors.ts";
import { timeGpu } from "./timing.ts";
import type { BenchRow } from "./types.ts";

export interface LogprobsBenchOptions {
  N?: number;
  C?: number;
  V?: number;
  temperature?: number;
}

/** Throws unless |got − want| <= atol + rtol·|want| everywhere. */
function check(what: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): void {
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= atol + rtol * Math.abs(want[i]!))) throw runError(`bench logprobs: ${what} is wrong at [${i}]: gpu ${got[i]} ref ${want[i]}`);
  }
}

function targetsFor(N: number, V: number, seed: number): Uint32Array {
  const rng = createRng(seed, 2);
  return Uint32Array.from({ length: N }, (_, n) => (n % 5 === 0 ? MASKED_TARGET : rng.int(V)));
}

function perPosition(gpu: Gpu, N: number): LogprobsOutputs {
  return { logp: createTensor(gpu, [N]), entropy: createTensor(gpu, [N]), lse: createTensor(gpu, [N]) };
}

/** Whole outputs vs the twin at N = 37, C = 61, V = 1003, with chunks and vocab blocks forced. */
async function validateSmall(gpu: Gpu): Promise<void> {
  const [N, C, V, temperature, budgetBytes] = [37, 61, 1003, 0.7, 16384];
  const hv = randomFloats(N * C, 1);
  const wv = randomFloats(V * C, 2);
  const tv = targetsFor(N, V, 3);
  const dlv = randomFloats(N, 4);
  const dev = randomFloats(N, 5);
  const h = tensorFrom(gpu, hv, [N, C]);
  const w = tensorFrom(gpu, wv, [V, C]);
  const targets = tensorFrom(gpu, tv, [N], "u32");
  const dlogp = tensorFrom(gpu, dlv, [N]);
  const dentropy = tensorFrom(gpu, dev, [N]);
  const out = perPosition(gpu, N);
  const dh = createTensor(gpu, [N, C]);
  const dw = tensorFrom(gpu, new Float32Array(V * C), [V, C]);
  logprobsForward(gpu, h, w, targets, out, { temperature, budgetBytes });
  logprobsBackward(gpu, h, w, targets, out, { dlogp, dentropy }, dh, dw, { temperature, budgetBytes });
  const ref = logprobsForwardRef(hv, wv, tv, N, C, V, { temperature });
  const g = logprobsBackwardRef(hv, wv, tv, { dlogp: dlv, dentropy: dev }, N, C, V, { temperature });
  check("logp (small, blocked)", await readTensor(gpu, out.logp), ref.logp, 2e-5, 2e-5);
  check("entropy (small, blocked)", await readTensor(gpu, out.entropy), ref.entropy, 2e-5, 2e-5);
  check("dh (small, blocked)", await readTensor(gpu, dh), g.dh, 2e-5, 1e-4);
  check("dW (small, blocked)", await readTensor(gpu, dw), g.dw, 2e-5, 1e-4);
  for (const t of [h, w, targets, dlogp, dentropy, out.logp, out.entropy, out.lse, dh, dw]) releaseTensor(gpu, t);
}

export async function benchLogprobs(gpu: Gpu, opts: LogprobsBenchOptions = {}): Promise<BenchRow[]> {
  await validateSmall(gpu);
  const N = opts.N ?? (gpu.isSoftware ? 256 : 2048);
  const C = opts.C ?? 896;
  const V = opts.V ?? 32768;
  const temperature = opts.temperature ?? 0.7;
  const hv = randomFloats(N * C, 11);
  const wv = randomFloats(V * C, 12, 0.1);
  const tv = targetsFor(N, V, 13);
  const live: Tensor[] = [];
  const keep = (t: Tensor) => (live.push(t), t);
  const h = keep(tensorFrom(gpu, hv, [N, C])); // [N, C]
  const w = keep(tensorFrom(gpu, wv, [V, C])); // [V, C]
  const targets = keep(tensorFrom(gpu, tv, [N], "u32")); // [N]
  const dlogp = keep(tensorFrom(gpu, randomFloats(N, 14), [N])); // [N]
  const dentropy = keep(tensorFrom(gpu, randomFloats(N, 15), [N])); // [N]
  const out = perPosition(gpu, N);
  live.push(out.logp, out.entropy, out.lse);
  const dh = keep(createTensor(gpu, [N, C])); // [N, C]
  const dw = keep(tensorFrom(gpu, new Float32Array(V * C), [V, C])); // [V, C]

  // Sampled positions of the timed size vs the twin (one position costs the twin V·C).
  logprobsForward(gpu, h, w, targets, out, { temperature });
  const logp = await readTensor(gpu, out.logp);
  const entropy = await readTensor(gpu, out.entropy);
  for (const n of [1, 2, Math.floor(N / 2) + 1, N - 1]) {
    const ref = logprobsForwardRef(hv.subarray(n * C, (n + 1) * C), wv, tv.subarray(n, n + 1), 1, C, V, { temperature });
    check(`logp[${n}]`, [logp[n]!], ref.logp, 1e-4, 1e-5);
    check(`entropy[${n}]`, [entropy[n]!], ref.entropy, 1e-4, 1e-5);
  }

  const plan = logprobsPlan(gpu, N, C, V);
  const forward = () => logprobsForward(gpu, h, w, targets, out, { temperature });
  const both = () => {
    forward();
    logprobsBackward(gpu, h, w, targets, out, { dlogp, dentropy }, dh, dw, { temperature });
  };
  // Baseline: the four matmuls of each tile on tile-sized tensors, nothing else.
  const ht = keep(createTensor(gpu, [plan.rows, C])); // [rows, C]
  const wt = keep(createTensor(gpu, [plan.cols, C])); // [cols, C]
  const lt = keep(createTensor(gpu, [plan.rows, plan.cols])); // [rows, cols]
  const dht = keep(createTensor(gpu, [plan.rows, C])); // [rows, C]
  const dwt = keep(tensorFrom(gpu, new Float32Array(plan.cols * C), [plan.cols, C])); // [cols, C]
  const matmulsOnly = () => {
    for (let i = 0; i < plan.chunks * plan.blocks; i++) {
      matmul(gpu, ht, wt, lt, { transB: true, alpha: 1 / temperature });
      matmul(gpu, ht, wt, lt, { transB: true, alpha: 1 / temperature });
      matmul(gpu, lt, wt, dht);
      matmul(gpu, lt, ht, dwt, { transA: true, beta: 1 });
    }
  };
  const samples = gpu.isSoftware ? 3 : 5;
  const tf = await timeGpu(gpu, forward, { samples });
  const tb = await timeGpu(gpu, both, { samples });
  const tm = await timeGpu(gpu, matmulsOnly, { samples });
  for (const t of live) releaseTensor(gpu, t);

  const shape = `N=${N} C=${C} V=${V}`;
  const notes = `τ=${temperature}; plan ${plan.chunks} chunk(s) of ${plan.rows} × ${plan.blocks} block(s) of ${plan.cols}`;
  const flops = 2 * N * V * C;
  return [
    { kernel: "logprobs forward", shape, ms: tf.ms, rate: flops / tf.ms / 1e6, unit: "GFLOP/s", notes },
    {
      kernel: "logprobs fwd+bwd", shape, ms: tb.ms, rate: (4 * flops) / tb.ms / 1e6, unit: "GFLOP/s",
      baseline: "its 4 matmuls alone", baselineMs: tm.ms, ratio: tm.ms / tb.ms, notes,
    },
    { kernel: "logprobs fwd+bwd", shape, ms: tb.ms, rate: N / (tb.ms / 1000), unit: "tokens/s" },
  ];
}
