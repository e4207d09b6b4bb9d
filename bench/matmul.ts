// `longrl bench matmul`: longrl's matmul against a naive one-output-per-invocation WGSL matmul
// on the same device in the same run. Each kernel is validated against the float64 twin (on
// sampled elements) before it is timed; a kernel that fails validation is not timed.
import { type Gpu, createTensor, dispatch, packParams, readTensor, releaseTensor, shader, tensorFrom, type Tensor } from "../src/gpu/index.ts";
import { defaultMatmulVariant, matmul, subgroupWgy, type MatmulOptions } from "../src/kernels/matmul.ts";
import { matmulRefAt } from "../src/ref/matmul.ts";
import { createRng, randomFloats } from "../src/util/rng.ts";
import { runError } from "../src/util/errors.ts";
import { timeGpu } from "./timing.ts";
import type { BenchRow } from "./types.ts";
import naiveSource from "./matmul_naive.wgsl" with { type: "text" };

const NAIVE = shader("bench/matmul_naive.wgsl", naiveSource);

export interface MatmulBenchRow {
  n: number;
  longrlMs: number;
  longrlGflops: number;
  naiveMs: number;
  naiveGflops: number;
  /** longrl speed / naive speed, measured in this run. */
  ratio: number;
  maxRelError: number;
}

function matmulNaive(gpu: Gpu, a: Tensor, b: Tensor, c: Tensor, M: number, N: number, K: number): void {
  dispatch(gpu, {
    op: "matmul_naive",
    shader: NAIVE,
    entry: "matmul_naive",
    params: packParams([M, N, K]),
    bindings: [a, b, c],
    workgroups: [Math.ceil(N / 16), Math.ceil(M / 16), 1],
  });
}

/** Largest relative error over sampled elements of C against the float64 twin. */
async function validate(gpu: Gpu, name: string, c: Tensor, av: Float32Array, bv: Float32Array, n: number): Promise<number> {
  const got = await readTensor(gpu, c);
  const rng = createRng(n, 11);
  let worst = 0;
  for (let s = 0; s < 64; s++) {
    const m = rng.int(n);
    const j = s === 0 ? n - 1 : rng.int(n);
    const want = matmulRefAt(av, bv, n, n, n, {}, 0, m, j);
    const err = Math.abs(got[m * n + j]! - want) / (1e-3 + Math.abs(want));
    if (!(err < 1e-3)) throw runError(`bench matmul: ${name} n=${n} is wrong at C[${m}, ${j}]: gpu ${got[m * n + j]} ref ${want}`);
    worst = Math.max(worst, err);
  }
  return worst;
}

export async function benchMatmul(gpu: Gpu, sizes: number[], onRow?: (r: MatmulBenchRow) => void): Promise<MatmulBenchRow[]> {
  const rows: MatmulBenchRow[] = [];
  for (const n of sizes) {
    const av = randomFloats(n * n, 1);
    const bv = randomFloats(n * n, 2);
    const a = tensorFrom(gpu, av, [n, n]);
    const b = tensorFrom(gpu, bv, [n, n]);
    const c = createTensor(gpu, [n, n]);
    matmul(gpu, a, b, c);
    const e1 = await validate(gpu, "longrl", c, av, bv, n);
    matmulNaive(gpu, a, b, c, n, n, n);
    const e2 = await validate(gpu, "naive", c, av, bv, n);
    const flops = 2 * n * n * n;
    const ours = await timeGpu(gpu, () => matmul(gpu, a, b, c));
    const naive = await timeGpu(gpu, () => matmulNaive(gpu, a, b, c, n, n, n), { samples: n >= 2048 ? 3 : 5 });
    const row: MatmulBenchRow = {
      n,
      longrlMs: ours.ms,
      longrlGflops: flops / ours.ms / 1e6,
      naiveMs: naive.ms,
      naiveGflops: flops / naive.ms / 1e6,
      ratio: naive.ms / ours.ms,
      maxRelError: Math.max(e1, e2),
    };
    rows.push(row);
    onRow?.(row);
    for (const t of [a, b, c]) releaseTensor(gpu, t);
  }
  return rows;
}

interface OptionPair {
  kernel: string;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  /** Options of our default path and of the baseline path, timed in the same run. */
  ours: MatmulOptions;
  base: MatmulOptions;
  baseline: string;
  notes: string;
}

/** One shape under two sets of matmul options, each validated at four elements, then timed. */
async function benchOptionPair(gpu: Gpu, p: OptionPair): Promise<BenchRow> {
  const { M, N, K } = p;
  const t = { transA: p.transA, transB: p.transB };
  const av = randomFloats(M * K, 5);
  const bv = randomFloats(N * K, 6);
  const a = tensorFrom(gpu, av, p.transA ? [K, M] : [M, K]);
  const b = tensorFrom(gpu, bv, p.transB ? [N, K] : [K, N]);
  const c = createTensor(gpu, [M, N]);
  try {
    for (const [name, opts] of [["ours", p.ours], [p.baseline, p.base]] as const) {
      matmul(gpu, a, b, c, { ...t, ...opts });
      const got = (await readTensor(gpu, c)) as Float32Array;
      for (const [m, j] of [[0, 0], [M - 1, N - 1], [Math.floor(M / 2) + 1, Math.floor(N / 2) + 1], [M - 9, 7]] as const) {
        const want = matmulRefAt(av, bv, M, N, K, t, 0, m, j);
        if (!(Math.abs(got[m * N + j]! - want) <= 1e-3 * (1e-3 + Math.abs(want)) + 1e-4)) throw runError(`bench matmul: ${p.kernel} (${name}) is wrong at C[${m}, ${j}]`);
      }
    }
    const ours = await timeGpu(gpu, () => matmul(gpu, a, b, c, { ...t, ...p.ours }));
    const base = await timeGpu(gpu, () => matmul(gpu, a, b, c, { ...t, ...p.base }));
    const op = `${p.transA ? "Aᵀ" : "A"}·${p.transB ? "Bᵀ" : "B"}`;
    return {
      kernel: p.kernel, shape: `M=${M} N=${N} K=${K} ${op}`, ms: ours.ms, rate: (2 * M * N * K) / ours.ms / 1e6, unit: "GFLOP/s",
      baseline: p.baseline, baselineMs: base.ms, ratio: base.ms / ours.ms, notes: p.notes,
    };
  } finally {
    for (const x of [a, b, c]) releaseTensor(gpu, x);
  }
}

/**
 * The demo's k/v projection on a CPU adapter with 8-wide subgroups: 1096 rows, N = 64 output columns,
 * K = 128, A·Bᵀ. The subgroup variant with its fitted workgroup (4 subgroups: subgroupWgy) against the
 * fixed 8 it had before, where half the subgroups repeated clamped edge columns. Validated first.
 * Undefined where the subgroup variant does not run.
 */
export async function benchNarrowMatmul(gpu: Gpu): Promise<BenchRow | undefined> {
  if (defaultMatmulVariant(gpu, 1096) !== "subgroup") return undefined;
  const fitted = subgroupWgy(64);
  return benchOptionPair(gpu, {
    kernel: "matmul, narrow N (k/v projection)", M: 1096, N: 64, K: 128, transB: true,
    ours: { subgroups: fitted }, base: { subgroups: 8 }, baseline: "8 subgroups per workgroup", notes: `${fitted} subgroups per workgroup`,
  });
}

/**
 * The demo's MLP weight gradient on a CPU adapter with 8-wide subgroups: dW = dYᵀ·X with M = 128
 * rows of dW, N = 352, K = 1096 tokens, Aᵀ·B. The subgroup variant reads Aᵀ through vec4 loads shared
 * across the subgroup; the baseline is its scalar path (8 gathers per lane per 4-deep block), what
 * it ran before. Undefined where the subgroup variant does not run.
 */
export async function benchWeightGradMatmul(gpu: Gpu): Promise<BenchRow | undefined> {
  if (defaultMatmulVariant(gpu, 128) !== "subgroup") return undefined;
  return benchOptionPair(gpu, {
    kernel: "matmul, weight gradient (MLP)", M: 128, N: 352, K: 1096, transA: true,
    ours: {}, base: { scalarA: true }, baseline: "scalar loads of Aᵀ", notes: "Aᵀ loaded once per subgroup, passed by subgroupShuffle",
  });
}
