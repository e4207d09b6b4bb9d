// `longrl bench kernels` (attention): causal attention forward + backward against a naive version
// that materializes the [H, T, T] scores (bench/attention_naive.wgsl), both at T = 2048 where that
// fits; longrl's forward + backward at T = 4096 with its effective rate next to matmul n = 1024
// measured in the same run (the target: at least half); and the forward's time and
// allocated bytes at T = 1K, 4K, 16K with one head (memory must grow linearly).
// `longrl bench kernels --only decode`: one decode step's attention for G samples per prompt over
// the prompts' shared prefix cache, with the G rows of a prompt read together (rowsPerPrefix = G)
// against one row per invocation (rowsPerPrefix = 1, the same result bit for bit).
// Every kernel is validated against the float64 twin (sampled rows) before it is timed.
import { type Gpu, type Tensor, createTensor, dispatch, packParams, readTensor, releaseTensor, shader, tensorFrom } from "../src/gpu/index.ts";
import { attentionBackward, attentionForward } from "../src/kernels/attention.ts";
import { attentionDecode } from "../src/kernels/attention_decode.ts";
import { matmul } from "../src/kernels/matmul.ts";
import { type AttentionDims, attentionDecodeRef, attentionDkvRowRef, attentionDqRowRef, attentionRowRef } from "../src/ref/attention.ts";
import { randomFloats } from "../src/util/rng.ts";
import { runError } from "../src/util/errors.ts";
import { timeGpu } from "./timing.ts";
import type { BenchRow } from "./types.ts";
import naiveSource from "./attention_naive.wgsl" with { type: "text" };

const NAIVE = shader("bench/attention_naive.wgsl", naiveSource);
const D = 64;

/** Useful FLOPs of causal attention over T tokens and H heads: 4·T²·D·H / 2 forward; backward 2.5×. */
const flops = (T: number, H: number, backward: boolean) => ((4 * T * T * D * H) / 2) * (backward ? 3.5 : 1);

interface Problem {
  d: AttentionDims;
  x: { q: Float32Array; k: Float32Array; v: Float32Array; dout: Float32Array };
  /** q, k, v, dout, out [1, T, H*D]; lse [1, H, T]; dq, dk, dv. */
  t: Record<"q" | "k" | "v" | "dout" | "out" | "lse" | "dq" | "dk" | "dv", Tensor>;
}

function problem(gpu: Gpu, T: number, H: number, withGrads: boolean): Problem {
  const d: AttentionDims = { B: 1, T, H, Hkv: H, D };
  const n = T * H * D;
  const x = { q: randomFloats(n, 1), k: randomFloats(n, 2), v: randomFloats(n, 3), dout: randomFloats(n, 4) };
  const shape = [1, T, H * D];
  const grad = () => createTensor(gpu, withGrads ? shape : [4]);
  const t = {
    q: tensorFrom(gpu, x.q, shape), k: tensorFrom(gpu, x.k, shape), v: tensorFrom(gpu, x.v, shape),
    dout: tensorFrom(gpu, withGrads ? x.dout : new Float32Array(4), withGrads ? shape : [4]),
    out: createTensor(gpu, shape), lse: createTensor(gpu, [1, H, T]), dq: grad(), dk: grad(), dv: grad(),
  };
  return { d, x, t };
}

function release(gpu: Gpu, p: Problem): void {
  for (const t of Object.values(p.t)) releaseTensor(gpu, t);
}

function forward(gpu: Gpu, p: Problem): void {
  attentionForward(gpu, p.t.q, p.t.k, p.t.v, p.t.out, p.t.lse, { heads: p.d.H, kvHeads: p.d.Hkv });
}

function forwardBackward(gpu: Gpu, p: Problem): void {
  forward(gpu, p);
  const { q, k, v, out, lse, dout, dq, dk, dv } = p.t;
  attentionBackward(gpu, q, k, v, out, lse, dout, dq, dk, dv, { heads: p.d.H, kvHeads: p.d.Hkv });
}

function naive(gpu: Gpu, p: Problem, s: Tensor, ds: Tensor): void {
  const { T, H } = p.d;
  const params = packParams([T, H, D], [1 / Math.sqrt(D)]);
  const { q, k, v, out, lse, dout, dq, dk, dv } = p.t;
  const all = { q, k, v, s, out, lse, dout, ds, dq, dk, dv };
  const order = ["q", "k", "v", "s", "out", "lse", "dout", "ds", "dq", "dk", "dv"] as const;
  // Each entry's layout holds only the bindings it uses.
  const run = (entry: string, uses: string, workgroups: [number, number, number]) => {
    const bindings = order.map((name) => (uses.split(" ").includes(name) ? all[name] : undefined));
    dispatch(gpu, { op: "attention_naive", shader: NAIVE, entry, params, bindings, workgroups });
  };
  const square: [number, number, number] = [Math.ceil(T / 16), Math.ceil(T / 16), H];
  const thin: [number, number, number] = [Math.ceil(D / 16), Math.ceil(T / 16), H];
  const rows: [number, number, number] = [Math.ceil(T / 64), H, 1];
  run("naive_scores", "q k s", square);
  run("naive_softmax", "s lse", rows);
  run("naive_pv", "v s out", thin);
  run("naive_dp", "v dout ds", square);
  run("naive_ds", "s ds", rows);
  run("naive_dq", "k ds dq", thin);
  run("naive_dkv", "q s dout ds dk dv", thin);
}

/** Compares sampled rows of out, lse (and dq, dk, dv) with the twin; throws on a wrong kernel. */
async function validate(gpu: Gpu, name: string, p: Problem, grads: boolean): Promise<void> {
  const { d, x } = p;
  const read = async (t: Tensor) => (await readTensor(gpu, t)) as Float32Array;
  const out = await read(p.t.out);
  const lse = await read(p.t.lse);
  const g = grads ? { dq: await read(p.t.dq), dk: await read(p.t.dk), dv: await read(p.t.dv) } : undefined;
  const check = (what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number) => {
    for (let i = 0; i < want.length; i++) {
      if (!(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) {
        throw runError(`bench attention: ${name} T=${d.T} is wrong at ${what}[${i}]: gpu ${got[i]} ref ${want[i]}`);
      }
    }
  };
  const W = d.H * D;
  for (const t of [0, 1, d.T >> 1, d.T - 1]) {
    for (const h of [0, d.H - 1]) {
      const r = attentionRowRef(x.q, x.k, x.v, d, {}, 0, h, t);
      check(`out[${t}, ${h}]`, out.subarray(t * W + h * D, t * W + (h + 1) * D), r.out, 1e-5);
      check(`lse[${h}, ${t}]`, [lse[h * d.T + t]!], [r.lse], 1e-5);
      if (!g) continue;
      check(`dq[${t}, ${h}]`, g.dq.subarray(t * W + h * D, t * W + (h + 1) * D), attentionDqRowRef(x.q, x.k, x.v, out, lse, x.dout, d, {}, 0, h, t), 1e-4);
      const kv = attentionDkvRowRef(x.q, x.k, x.v, out, lse, x.dout, d, {}, 0, h, t);
      check(`dk[${t}, ${h}]`, g.dk.subarray(t * W + h * D, t * W + (h + 1) * D), kv.dk, 1e-3);
      check(`dv[${t}, ${h}]`, g.dv.subarray(t * W + h * D, t * W + (h + 1) * D), kv.dv, 1e-3);
    }
  }
}

/** Bytes of the tensors a call needs (inputs, outputs, the backward's [H, T, 2] stats), pool-rounded sizes not counted. */
function tensorBytes(p: Problem, backward: boolean): number {
  const ts = backward ? Object.values(p.t) : [p.t.q, p.t.k, p.t.v, p.t.out, p.t.lse];
  return ts.reduce((s, t) => s + t.byteSize, 0) + (backward ? p.d.H * p.d.T * 8 : 0);
}

export async function benchAttention(gpu: Gpu): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const H = 4;

  // Matmul n = 1024 in this run: the yardstick of the target.
  const n = 1024;
  const ma = tensorFrom(gpu, randomFloats(n * n, 5), [n, n]);
  const mc = createTensor(gpu, [n, n]);
  const mm = await timeGpu(gpu, () => matmul(gpu, ma, ma, mc));
  const matmulRate = (2 * n ** 3) / mm.ms / 1e6;
  releaseTensor(gpu, ma);
  releaseTensor(gpu, mc);

  // Forward + backward at T = 4096 against the matmul rate.
  {
    const p = problem(gpu, 4096, H, true);
    forwardBackward(gpu, p);
    await validate(gpu, "forward+backward", p, true);
    const t = await timeGpu(gpu, () => forwardBackward(gpu, p), { targetMs: 1, samples: 3 });
    const rate = flops(4096, H, true) / t.ms / 1e6;
    rows.push({
      kernel: "attention fwd+bwd", shape: `T=4096 H=${H} D=${D} causal`, ms: t.ms, rate, unit: "GFLOP/s",
      notes: `${(rate / matmulRate).toFixed(2)}x the matmul n=${n} rate of this run (${matmulRate.toFixed(2)} GFLOP/s); target >= 0.5`,
    });
    release(gpu, p);
  }

  // Against the naive materializing version, both at T = 2048.
  {
    const T = 2048;
    const p = problem(gpu, T, H, true);
    const s = createTensor(gpu, [H, T, T], "f32", "attention_naive.s"); // s: [H, T, T] scores, then p
    const ds = createTensor(gpu, [H, T, T], "f32", "attention_naive.ds"); // ds: [H, T, T] dp, then ds
    naive(gpu, p, s, ds);
    await validate(gpu, "naive", p, true);
    forwardBackward(gpu, p);
    await validate(gpu, "forward+backward", p, true);
    const ours = await timeGpu(gpu, () => forwardBackward(gpu, p), { targetMs: 1, samples: 3 });
    const base = await timeGpu(gpu, () => naive(gpu, p, s, ds), { targetMs: 1, samples: 3 });
    rows.push({
      kernel: "attention fwd+bwd", shape: `T=${T} H=${H} D=${D} causal`, ms: ours.ms, rate: flops(T, H, true) / ours.ms / 1e6, unit: "GFLOP/s",
      baseline: "naive WGSL, [H, T, T] scores", baselineMs: base.ms, ratio: base.ms / ours.ms,
      notes: `allocated ${tensorBytes(p, true)} bytes; naive ${tensorBytes(p, true) + s.byteSize + ds.byteSize}`,
    });
    for (const t of [s, ds]) releaseTensor(gpu, t);
    release(gpu, p);
  }

  // Forward time and memory against T, one head.
  for (const T of [1024, 4096, 16384]) {
    const p = problem(gpu, T, 1, false);
    forward(gpu, p);
    await validate(gpu, "forward", p, false);
    const t = await timeGpu(gpu, () => forward(gpu, p), { targetMs: T >= 16384 ? 1 : 300, samples: 3 });
    const bytes = tensorBytes(p, false);
    rows.push({
      kernel: "attention fwd", shape: `T=${T} H=1 D=${D} causal`, ms: t.ms, rate: flops(T, 1, false) / t.ms / 1e6, unit: "GFLOP/s",
      notes: `allocated ${bytes} bytes (${(bytes / T).toFixed(0)} per token; largest ${p.t.q.byteSize})`,
    });
    release(gpu, p);
  }
  return rows;
}

/** One decode step's attention: Bp prompts x G samples, a P-key prefix each, S own keys per row. */
export async function benchDecode(gpu: Gpu): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  // The demo's model (H 4, Hkv 2, D 32; 4 prompts of 512 tokens) and Qwen2.5-0.5B's heads (14, 2, 64; one 2048-token prompt).
  for (const [Bp, G, P, S, H, Hkv, Dh] of [[4, 8, 512, 96, 4, 2, 32], [1, 8, 2048, 64, 14, 2, 64]] as const) {
    const B = Bp * G;
    const F = Hkv * Dh;
    const x = { kp: randomFloats(Bp * P * F, 11), vp: randomFloats(Bp * P * F, 12), ko: randomFloats(S * B * F, 13), vo: randomFloats(S * B * F, 14), q: randomFloats(B * H * Dh, 15) };
    const rowOf = Uint32Array.from({ length: B }, (_, r) => Math.floor(r / G));
    const plen = new Uint32Array(Bp).fill(P);
    const olen = new Uint32Array(B).fill(S);
    const prefix = { k: tensorFrom(gpu, x.kp, [Bp, P, F]), v: tensorFrom(gpu, x.vp, [Bp, P, F]), row: tensorFrom(gpu, rowOf, [B], "u32"), len: tensorFrom(gpu, plen, [Bp], "u32") };
    const own = { k: tensorFrom(gpu, x.ko, [S, B, F]), v: tensorFrom(gpu, x.vo, [S, B, F]), len: tensorFrom(gpu, olen, [B], "u32") };
    const q = tensorFrom(gpu, x.q, [B, H * Dh]);
    const out = createTensor(gpu, [B, H * Dh]);
    const run = (share: number) => () => attentionDecode(gpu, q, prefix, own, out, { heads: H, kvHeads: Hkv, rowsPerPrefix: share });
    const want = attentionDecodeRef(x.q, { k: x.kp, v: x.vp, row: rowOf, len: plen, P }, { k: x.ko, v: x.vo, len: olen, S }, { B, H, Hkv, D: Dh });
    for (const share of [G, 1]) {
      run(share)();
      const got = (await readTensor(gpu, out)) as Float32Array;
      const bad = want.findIndex((w, i) => !(Math.abs(got[i]! - w) <= 1e-5 * (1 + Math.abs(w))));
      if (bad >= 0) throw runError(`bench decode: rowsPerPrefix ${share} is wrong at out[${bad}]: gpu ${got[bad]} ref ${want[bad]}`);
    }
    const shared = await timeGpu(gpu, run(G), { targetMs: 300, samples: 5 });
    const alone = await timeGpu(gpu, run(1), { targetMs: 300, samples: 5 });
    const bytes = (Bp * P + B * S) * F * 2 * 4; // keys and values, each read once
    rows.push({
      kernel: "attention decode step", shape: `${Bp}x${G} rows P=${P} S=${S} H=${H}/${Hkv} D=${Dh}`, ms: shared.ms, rate: bytes / shared.ms / 1e6, unit: "GB/s",
      baseline: "one row per invocation", baselineMs: alone.ms, ratio: alone.ms / shared.ms,
    });
    for (const t of [prefix.k, prefix.v, prefix.row, prefix.len, own.k, own.v, own.len, q, out]) releaseTensor(gpu, t);
  }
  return rows;
}
