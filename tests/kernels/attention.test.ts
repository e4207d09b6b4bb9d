// Attention vs its float64 twin: forward and backward at awkward T, GQA, D = 64 and 128, both
// variants; shared-prefix packing against separate runs; padding; decode against full attention;
// finite differences of the twin; a long case whose allocations stay linear in T.
import { describe, expect, test } from "bun:test";
import { type Gpu, type Tensor, readTensor, releaseTensor, sync, tensorFrom, trimPool } from "../../src/gpu/index.ts";
import { type AttentionOptions, type AttentionVariant, attentionBackward, attentionForward } from "../../src/kernels/attention.ts";
import { attentionDecode } from "../../src/kernels/attention_decode.ts";
import {
  type AttentionDims, type AttentionRefOptions, attentionBackwardRef, attentionDecodeRef, attentionDkvRowRef, attentionDqRowRef,
  attentionForwardRef, attentionRowRef,
} from "../../src/ref/attention.ts";
import { expectClose, poisoned, randomArray, testGpu } from "../helpers.ts";

// f32 sums over T keys and D channels; errors seen are ~1e-7 (out) to ~3e-6 (dv at T=129, D=128).
const TOL = { out: [2e-6, 1e-4], lse: [4e-6, 1e-5], grad: [2e-5, 1e-4] } as const;

interface Inputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dout: Float32Array;
}

function inputs(d: AttentionDims, seed: number): Inputs {
  const nq = d.B * d.T * d.H * d.D;
  const nk = d.B * d.T * d.Hkv * d.D;
  return { q: randomArray(nq, seed), k: randomArray(nk, seed + 1), v: randomArray(nk, seed + 2), dout: randomArray(nq, seed + 3) };
}

interface Masks {
  segStart?: Uint32Array;
  prefixLen?: Uint32Array;
  seqLen?: Uint32Array;
}

interface Result {
  out: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** Runs forward and backward on the GPU (outputs poisoned with NaN first). */
async function runGpu(gpu: Gpu, d: AttentionDims, x: Inputs, m: Masks = {}, variant?: AttentionVariant): Promise<Result> {
  const { B, T, H, Hkv, D } = d;
  const owned: Tensor[] = [];
  const t = (data: Float32Array | Uint32Array, shape: number[]) => {
    const tt = tensorFrom(gpu, data, shape, data instanceof Uint32Array ? "u32" : "f32");
    owned.push(tt);
    return tt;
  };
  const p = (shape: number[]) => {
    const tt = poisoned(gpu, shape);
    owned.push(tt);
    return tt;
  };
  const q = t(x.q, [B, T, H * D]);
  const k = t(x.k, [B, T, Hkv * D]);
  const v = t(x.v, [B, T, Hkv * D]);
  const dout = t(x.dout, [B, T, H * D]);
  const opts: AttentionOptions = {
    heads: H,
    kvHeads: Hkv,
    variant,
    segStart: m.segStart && t(m.segStart, [B, T]),
    prefixLen: m.prefixLen && t(m.prefixLen, [B]),
    seqLen: m.seqLen && t(m.seqLen, [B]),
  };
  const out = p([B, T, H * D]);
  const lse = p([B, H, T]);
  const dq = p([B, T, H * D]);
  const dk = p([B, T, Hkv * D]);
  const dv = p([B, T, Hkv * D]);
  attentionForward(gpu, q, k, v, out, lse, opts);
  attentionBackward(gpu, q, k, v, out, lse, dout, dq, dk, dv, opts);
  const r = {
    out: (await readTensor(gpu, out)) as Float32Array,
    lse: (await readTensor(gpu, lse)) as Float32Array,
    dq: (await readTensor(gpu, dq)) as Float32Array,
    dk: (await readTensor(gpu, dk)) as Float32Array,
    dv: (await readTensor(gpu, dv)) as Float32Array,
  };
  for (const tt of owned) releaseTensor(gpu, tt);
  return r;
}

/** Forward and backward against the twin. */
async function checkAgainstTwin(name: string, d: AttentionDims, seed: number, m: Masks = {}, variant?: AttentionVariant): Promise<Result> {
  const gpu = await testGpu();
  const x = inputs(d, seed);
  const got = await runGpu(gpu, d, x, m, variant);
  const opts: AttentionRefOptions = m;
  const ref = attentionForwardRef(x.q, x.k, x.v, d, opts);
  const { B, T, H, Hkv, D } = d;
  expectClose(`${name}.out`, got.out, ref.out, [B, T, H, D], TOL.out[0], TOL.out[1]);
  expectClose(`${name}.lse`, got.lse, ref.lse, [B, H, T], TOL.lse[0], TOL.lse[1]);
  const g = attentionBackwardRef(x.q, x.k, x.v, ref.out, ref.lse, x.dout, d, opts);
  expectClose(`${name}.dq`, got.dq, g.dq, [B, T, H, D], TOL.grad[0], TOL.grad[1]);
  expectClose(`${name}.dk`, got.dk, g.dk, [B, T, Hkv, D], TOL.grad[0], TOL.grad[1]);
  expectClose(`${name}.dv`, got.dv, g.dv, [B, T, Hkv, D], TOL.grad[0], TOL.grad[1]);
  return got;
}

describe("attention forward and backward vs the twin", () => {
  const cases: [string, AttentionDims, AttentionVariant?][] = [
    ["T=1 GQA 4 D=64", { B: 2, T: 1, H: 8, Hkv: 2, D: 64 }],
    ["T=7 GQA 4 D=64", { B: 3, T: 7, H: 8, Hkv: 2, D: 64 }],
    ["T=129 GQA 4 D=64", { B: 1, T: 129, H: 8, Hkv: 2, D: 64 }],
    ["T=129 GQA 4 D=128", { B: 1, T: 129, H: 8, Hkv: 2, D: 128 }],
    ["T=37 D=128 B=3", { B: 3, T: 37, H: 2, Hkv: 1, D: 128 }],
    ["T=1000 one head", { B: 1, T: 1000, H: 1, Hkv: 1, D: 64 }],
    ["T=61 D=12 (not a power of two)", { B: 2, T: 61, H: 3, Hkv: 3, D: 12 }],
  ];
  for (const [name, d, variant] of cases) {
    test(name, async () => {
      await checkAgainstTwin(`attention[${name}]`, d, d.T * 13 + d.D, {}, variant);
    });
  }

  test("same inputs give the same bits", async () => {
    const gpu = await testGpu();
    const d = { B: 1, T: 77, H: 4, Hkv: 2, D: 64 };
    const x = inputs(d, 5);
    const a = await runGpu(gpu, d, x);
    const b = await runGpu(gpu, d, x);
    for (const key of ["out", "lse", "dq", "dk", "dv"] as const) expect(Buffer.from(b[key].buffer).equals(Buffer.from(a[key].buffer))).toBe(true);
  });
});

/** Token offsets of packed row [prompt(P), r1, ..., rG]. */
function packing(P: number, lens: number[]): { T: number; segStart: Uint32Array; starts: number[] } {
  const T = P + lens.reduce((s, n) => s + n, 0);
  const segStart = new Uint32Array(T);
  const starts: number[] = [];
  let at = P;
  for (const n of lens) {
    starts.push(at);
    segStart.fill(at, at, at + n);
    at += n;
  }
  return { T, segStart, starts };
}

describe("shared-prefix packing", () => {
  test("a packed row [P, r1, r2, r3] equals running each [P, r_i] separately (outputs and gradients)", async () => {
    const gpu = await testGpu();
    const [H, Hkv, D, P] = [4, 2, 64, 23];
    const lens = [9, 14, 6];
    const { T, segStart, starts } = packing(P, lens);
    const dp: AttentionDims = { B: 1, T, H, Hkv, D };
    const masks = { segStart, prefixLen: Uint32Array.of(P) };
    const packed = await checkAgainstTwin("attention.packed", dp, 7, masks);
    // The separate runs: rows [P, r_i], padded to the longest (seqLen marks the valid part), and
    // a row [P] alone: the prompt queries' own share of the prompt's dk, dv.
    const G = lens.length;
    const Ts = P + Math.max(...lens);
    const ds: AttentionDims = { B: G + 1, T: Ts, H, Hkv, D };
    const xp = inputs(dp, 7);
    const xs = inputs(ds, 99);
    for (const key of ["q", "k", "v", "dout"] as const) {
      const width = key === "k" || key === "v" ? Hkv * D : H * D;
      for (let g = 0; g <= G; g++) {
        xs[key].set(xp[key].subarray(0, P * width), g * Ts * width);
        if (g < G) xs[key].set(xp[key].subarray(starts[g]! * width, (starts[g]! + lens[g]!) * width), (g * Ts + P) * width);
      }
    }
    const seqLen = Uint32Array.from([...lens, 0], (n) => P + n);
    const got = await runGpu(gpu, ds, xs, { seqLen });
    const wq = H * D;
    const wk = Hkv * D;
    const rows = (a: Float32Array, width: number, at: number, n: number) => a.subarray(at * width, (at + n) * width);
    for (let g = 0; g < G; g++) {
      // Response tokens: the same outputs and gradients.
      for (const [key, width] of [["out", wq], ["dq", wq], ["dk", wk], ["dv", wk]] as const) {
        expectClose(`packed.${key} r${g + 1}`, rows(packed[key], width, starts[g]!, lens[g]!), rows(got[key], width, g * Ts + P, lens[g]!), [lens[g]!, width], 1e-5, 1e-4);
      }
      // Prompt tokens: the same outputs and dq in every branch.
      for (const [key, width] of [["out", wq], ["dq", wq]] as const) {
        expectClose(`packed.${key} prompt in r${g + 1}`, rows(packed[key], width, 0, P), rows(got[key], width, g * Ts, P), [P, width], 1e-5, 1e-4);
      }
    }
    // Padding: zero outputs and gradients.
    for (let g = 0; g <= G; g++) {
      const n = Number(seqLen[g]);
      for (const [key, width] of [["out", wq], ["dq", wq], ["dk", wk], ["dv", wk]] as const) {
        expect(rows(got[key], width, g * Ts + n, Ts - n).every((x) => x === 0)).toBe(true);
      }
    }
    // Prompt dk, dv: the G branches' sum, less the prompt queries' share counted G - 1 extra times.
    for (const [key, width] of [["dk", wk], ["dv", wk]] as const) {
      const want = new Float64Array(P * width);
      for (let i = 0; i < P * width; i++) {
        for (let g = 0; g < G; g++) want[i]! += got[key][g * Ts * width + i]!;
        want[i]! -= (G - 1) * got[key][G * Ts * width + i]!;
      }
      expectClose(`packed.${key} prompt`, rows(packed[key], width, 0, P), want, [P, width], 3e-5, 1e-4);
    }
  });

  test("packing and padding together, D=128, GQA 4, a row of padding only", async () => {
    const { T, segStart } = packing(40, [30, 1, 25]);
    const d: AttentionDims = { B: 3, T, H: 8, Hkv: 2, D: 128 };
    const seg3 = new Uint32Array(3 * T); // row 2: all padding (seqLen 0)
    seg3.set(segStart, 0);
    seg3.set(packing(17, [50, 29]).segStart, T);
    const masks = { segStart: seg3, prefixLen: Uint32Array.of(40, 17, 0), seqLen: Uint32Array.of(T, 80, 0) };
    const got = await checkAgainstTwin("attention.packed2", d, 3, masks);
    const W = T * 8 * 128;
    expect(got.out.subarray(2 * W).every((x) => x === 0) && got.dq.subarray(2 * W).every((x) => x === 0)).toBe(true);
  });

  test("the plain variant (no subgroups): causal, and packing with padding", async () => {
    await checkAgainstTwin("attention.plain", { B: 3, T: 7, H: 8, Hkv: 2, D: 64 }, 11, {}, "plain");
    const { T, segStart } = packing(9, [12, 1, 7]);
    const d: AttentionDims = { B: 2, T, H: 4, Hkv: 1, D: 64 };
    const seg2 = new Uint32Array(2 * T);
    seg2.set(segStart, 0);
    seg2.set(packing(3, [20, 6]).segStart, T);
    await checkAgainstTwin("attention.plain.packed", d, 12, { segStart: seg2, prefixLen: Uint32Array.of(9, 3), seqLen: Uint32Array.of(T, 25) }, "plain");
  });
});

/** [B, S, F] row-major → [S, B, F] (the own cache's slot-major layout). */
function slotMajor(a: Float32Array, B: number, S: number, F: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let b = 0; b < B; b++) for (let j = 0; j < S; j++) out.set(a.subarray((b * S + j) * F, (b * S + j + 1) * F), (j * B + b) * F);
  return out;
}

describe("decode", () => {
  const H = 8;
  const Hkv = 2;
  const D = 64;

  test("equals the last row of full attention, from the own cache, the prefix cache, or both", async () => {
    const gpu = await testGpu();
    const L = [300, 129, 1]; // keys per row; 300 spans 5 chunks of 64
    const d: AttentionDims = { B: 3, T: 300, H, Hkv, D };
    const x = inputs(d, 21);
    const qd = new Float32Array(d.B * H * D); // the query at position L[b] - 1
    const want = new Float64Array(d.B * H * D);
    for (let b = 0; b < d.B; b++) {
      const t = L[b]! - 1;
      qd.set(x.q.subarray(((b * d.T + t) * H) * D, ((b * d.T + t + 1) * H) * D), b * H * D);
      for (let h = 0; h < H; h++) want.set(attentionRowRef(x.q, x.k, x.v, d, {}, b, h, t).out, (b * H + h) * D);
    }
    const q = tensorFrom(gpu, qd, [d.B, H * D]);
    const k = tensorFrom(gpu, slotMajor(x.k, d.B, d.T, Hkv * D), [d.T, d.B, Hkv * D]);
    const v = tensorFrom(gpu, slotMajor(x.v, d.B, d.T, Hkv * D), [d.T, d.B, Hkv * D]);
    const own = { k, v, len: tensorFrom(gpu, Uint32Array.from(L), [d.B], "u32") };
    // Own cache only.
    let out = poisoned(gpu, [d.B, H * D]);
    attentionDecode(gpu, q, undefined, own, out, { heads: H, kvHeads: Hkv });
    expectClose("decode.own", await readTensor(gpu, out), want, [d.B, H, D], 2e-6, 1e-4);
    // Prefix cache only: the same keys as prefix rows, read in reverse row order.
    const row = Uint32Array.of(2, 1, 0);
    const kr = new Float32Array(x.k.length);
    const vr = new Float32Array(x.v.length);
    const w = d.T * Hkv * D;
    for (let b = 0; b < d.B; b++) {
      kr.set(x.k.subarray(b * w, (b + 1) * w), row[b]! * w);
      vr.set(x.v.subarray(b * w, (b + 1) * w), row[b]! * w);
    }
    const prefix = {
      k: tensorFrom(gpu, kr, [d.B, d.T, Hkv * D]),
      v: tensorFrom(gpu, vr, [d.B, d.T, Hkv * D]),
      row: tensorFrom(gpu, row, [d.B], "u32"),
      len: tensorFrom(gpu, Uint32Array.from(L, (_, r) => L[row.indexOf(r)]!), [d.B], "u32"),
    };
    out = poisoned(gpu, [d.B, H * D]);
    attentionDecode(gpu, q, prefix, undefined, out, { heads: H, kvHeads: Hkv });
    expectClose("decode.prefix", await readTensor(gpu, out), want, [d.B, H, D], 2e-6, 1e-4);
    // Both: the first P[b] keys from the prefix, the rest from the own cache.
    const P = [200, 64, 0];
    const ko = new Float32Array(x.k.length);
    const vo = new Float32Array(x.v.length);
    const r = Hkv * D;
    for (let b = 0; b < d.B; b++) {
      ko.set(x.k.subarray(b * w + P[b]! * r, b * w + L[b]! * r), b * w);
      vo.set(x.v.subarray(b * w + P[b]! * r, b * w + L[b]! * r), b * w);
    }
    const split = { ...prefix, len: tensorFrom(gpu, Uint32Array.from(P, (_, rr) => P[row.indexOf(rr)]!), [d.B], "u32") };
    const ownRest = { k: tensorFrom(gpu, slotMajor(ko, d.B, d.T, Hkv * D), [d.T, d.B, Hkv * D]), v: tensorFrom(gpu, slotMajor(vo, d.B, d.T, Hkv * D), [d.T, d.B, Hkv * D]), len: tensorFrom(gpu, Uint32Array.from(L, (n, b) => n - P[b]!), [d.B], "u32") };
    out = poisoned(gpu, [d.B, H * D]);
    attentionDecode(gpu, q, split, ownRest, out, { heads: H, kvHeads: Hkv, chunk: 48 });
    expectClose("decode.both", await readTensor(gpu, out), want, [d.B, H, D], 2e-6, 1e-4);
  });

  test("G rows sharing one prefix equal G independent full attentions; a row with no keys gets 0", async () => {
    const gpu = await testGpu();
    const [P, S] = [150, 90];
    const lens = [1, 37, 64, 90, 0];
    const G = lens.length;
    const Dh = 128;
    const kp = randomArray(2 * P * Hkv * Dh, 31);
    const vp = randomArray(2 * P * Hkv * Dh, 32);
    const ko = randomArray(G * S * Hkv * Dh, 33);
    const vo = randomArray(G * S * Hkv * Dh, 34);
    const qd = randomArray(G * H * Dh, 35);
    // Prefix row 0 holds the prompt; row 1 is empty, read by the last row, whose own cache is empty too.
    const prefixLen = Uint32Array.of(P, 0);
    const rowOf = Uint32Array.of(0, 0, 0, 0, 1);
    const lensU = Uint32Array.from(lens);
    const out = poisoned(gpu, [G, H * Dh]);
    attentionDecode(
      gpu, tensorFrom(gpu, qd, [G, H * Dh]),
      { k: tensorFrom(gpu, kp, [2, P, Hkv * Dh]), v: tensorFrom(gpu, vp, [2, P, Hkv * Dh]), row: tensorFrom(gpu, rowOf, [G], "u32"), len: tensorFrom(gpu, prefixLen, [2], "u32") },
      { k: tensorFrom(gpu, slotMajor(ko, G, S, Hkv * Dh), [S, G, Hkv * Dh]), v: tensorFrom(gpu, slotMajor(vo, G, S, Hkv * Dh), [S, G, Hkv * Dh]), len: tensorFrom(gpu, lensU, [G], "u32") },
      out, { heads: H, kvHeads: Hkv },
    );
    const got = await readTensor(gpu, out);
    // Each row alone: full attention over [prefix, own keys] with its query last.
    const want = new Float64Array(G * H * Dh);
    for (let g = 0; g < G - 1; g++) {
      const T = P + lens[g]!;
      const dg: AttentionDims = { B: 1, T, H, Hkv, D: Dh };
      const k = new Float32Array(T * Hkv * Dh);
      const v = new Float32Array(T * Hkv * Dh);
      k.set(kp.subarray(0, P * Hkv * Dh));
      v.set(vp.subarray(0, P * Hkv * Dh));
      k.set(ko.subarray(g * S * Hkv * Dh, (g * S + lens[g]!) * Hkv * Dh), P * Hkv * Dh);
      v.set(vo.subarray(g * S * Hkv * Dh, (g * S + lens[g]!) * Hkv * Dh), P * Hkv * Dh);
      const q = new Float32Array(T * H * Dh);
      q.set(qd.subarray(g * H * Dh, (g + 1) * H * Dh), (T - 1) * H * Dh);
      for (let h = 0; h < H; h++) want.set(attentionRowRef(q, k, v, dg, {}, 0, h, T - 1).out, (g * H + h) * Dh);
    }
    expectClose("decode.shared", got, want, [G, H, Dh], 2e-6, 1e-4);
    // And the twin of decode itself (the empty row included).
    const twin = attentionDecodeRef(qd, { k: kp, v: vp, row: rowOf, len: prefixLen, P }, { k: slotMajor(ko, G, S, Hkv * Dh), v: slotMajor(vo, G, S, Hkv * Dh), len: lensU, S }, { B: G, H, Hkv, D: Dh });
    expectClose("decode.twin", got, twin, [G, H, Dh], 2e-6, 1e-4);
  });

  test("rows that share a prefix read it together (rowsPerPrefix): the twin's result, bit for bit the one-row path's", async () => {
    const gpu = await testGpu();
    // G = 4 and D = 32: 4 rows x 4 heads per invocation; G = 6 and D = 64: 2 rows x 4 heads; G = 3: 1 row (odd group).
    for (const [G, Dh, Hq] of [[4, 32, 8], [6, 64, 8], [3, 32, 4]] as const) {
      const [Bp, P, S] = [3, 150, 70];
      const B = Bp * G;
      const F = Hkv * Dh;
      const seed = 40 + G;
      const kp = randomArray(Bp * P * F, seed);
      const vp = randomArray(Bp * P * F, seed + 1);
      const ko = randomArray(S * B * F, seed + 2);
      const vo = randomArray(S * B * F, seed + 3);
      const qd = randomArray(B * Hq * Dh, seed + 4);
      const prefixLen = Uint32Array.of(P, 77, 1); // 3 chunks, 2 (the last partial), 1 key
      const rowOf = Uint32Array.from({ length: B }, (_, r) => Math.floor(r / G));
      const lens = Uint32Array.from({ length: B }, (_, r) => (r * 13) % (S + 1)); // 0 .. S, one row with none
      const prefix = { k: tensorFrom(gpu, kp, [Bp, P, F]), v: tensorFrom(gpu, vp, [Bp, P, F]), row: tensorFrom(gpu, rowOf, [B], "u32"), len: tensorFrom(gpu, prefixLen, [Bp], "u32") };
      const own = { k: tensorFrom(gpu, ko, [S, B, F]), v: tensorFrom(gpu, vo, [S, B, F]), len: tensorFrom(gpu, lens, [B], "u32") };
      const q = tensorFrom(gpu, qd, [B, Hq * Dh]);
      const shared = poisoned(gpu, [B, Hq * Dh]);
      const alone = poisoned(gpu, [B, Hq * Dh]);
      attentionDecode(gpu, q, prefix, own, shared, { heads: Hq, kvHeads: Hkv, rowsPerPrefix: G });
      attentionDecode(gpu, q, prefix, own, alone, { heads: Hq, kvHeads: Hkv });
      const got = (await readTensor(gpu, shared)) as Float32Array;
      const want = attentionDecodeRef(qd, { k: kp, v: vp, row: rowOf, len: prefixLen, P }, { k: ko, v: vo, len: lens, S }, { B, H: Hq, Hkv, D: Dh });
      expectClose(`decode.rowsPerPrefix${G}`, got, want, [B, Hq, Dh], 2e-6, 1e-4);
      const one = (await readTensor(gpu, alone)) as Float32Array;
      const differ = got.findIndex((x, i) => x !== one[i]);
      if (differ >= 0) throw new Error(`decode.rowsPerPrefix${G}[${differ}]: shared ${got[differ]} one-row ${one[differ]}`);
    }
    const q = poisoned(gpu, [6, H * D]);
    const prefix = { k: poisoned(gpu, [2, 4, Hkv * D]), v: poisoned(gpu, [2, 4, Hkv * D]), row: tensorFrom(gpu, Uint32Array.of(0, 0, 0, 1, 1, 1), [6], "u32"), len: tensorFrom(gpu, Uint32Array.of(4, 4), [2], "u32") };
    expect(() => attentionDecode(gpu, q, prefix, undefined, poisoned(gpu, [6, H * D]), { heads: H, kvHeads: Hkv, rowsPerPrefix: 4 })).toThrow(/attentionDecode: rowsPerPrefix 4 must be a positive divisor of the 6 rows/);
  });

  test("mismatched shapes are an error naming the op and the shapes, before any dispatch", async () => {
    const gpu = await testGpu();
    const q = poisoned(gpu, [2, H * D]);
    const out = poisoned(gpu, [2, H * D]);
    const own = { k: poisoned(gpu, [10, 3, Hkv * D]), v: poisoned(gpu, [10, 3, Hkv * D]), len: tensorFrom(gpu, Uint32Array.of(1, 2, 3), [3], "u32") };
    const before = gpu.recorder.total;
    expect(() => attentionDecode(gpu, q, undefined, own, out, { heads: H, kvHeads: Hkv })).toThrow(/attentionDecode: own must be .*q \[2, 512\].*own k \[10, 3, 128\]/);
    expect(() => attentionDecode(gpu, q, undefined, undefined, out, { heads: H, kvHeads: Hkv })).toThrow(/attentionDecode: needs a prefix cache, an own cache, or both/);
    expect(gpu.recorder.total).toBe(before);
  });
});

describe("checks", () => {
  test("the twin's backward agrees with finite differences of the twin's forward (GQA, packing, padding)", () => {
    const d: AttentionDims = { B: 2, T: 6, H: 2, Hkv: 1, D: 4 };
    const opts: AttentionRefOptions = {
      segStart: Uint32Array.of(0, 0, 2, 2, 4, 4, 0, 1, 2, 3, 4, 5),
      prefixLen: Uint32Array.of(2, 1),
      seqLen: Uint32Array.of(5, 6),
      scale: 0.7,
    };
    const x = inputs(d, 41);
    const q = Float64Array.from(x.q);
    const k = Float64Array.from(x.k);
    const v = Float64Array.from(x.v);
    const loss = () => attentionForwardRef(q, k, v, d, opts).out.reduce((s, o, i) => s + o * x.dout[i]!, 0);
    const f = attentionForwardRef(q, k, v, d, opts);
    const g = attentionBackwardRef(q, k, v, f.out, f.lse, x.dout, d, opts);
    const h = 1e-6;
    for (const [arr, grad, name] of [[q, g.dq, "dq"], [k, g.dk, "dk"], [v, g.dv, "dv"]] as const) {
      for (let i = 0; i < arr.length; i++) {
        const keep = arr[i]!;
        arr[i] = keep + h;
        const up = loss();
        arr[i] = keep - h;
        const down = loss();
        arr[i] = keep;
        const num = (up - down) / (2 * h);
        if (!(Math.abs(num - grad[i]!) < 1e-7)) throw new Error(`attention twin ${name}[${i}]: finite difference ${num}, backward ${grad[i]}`);
      }
    }
  });

  test("mismatched shapes are an error naming the op and both shapes, before any dispatch", async () => {
    const gpu = await testGpu();
    const [B, T, H, Hkv, D] = [2, 5, 4, 2, 64];
    const q = poisoned(gpu, [B, T, H * D]);
    const k = poisoned(gpu, [B, T, Hkv * D]);
    const kBad = poisoned(gpu, [B, T + 1, Hkv * D]);
    const out = poisoned(gpu, [B, T, H * D]);
    const lse = poisoned(gpu, [B, H, T]);
    const lseBad = poisoned(gpu, [B, T, H]);
    const opts = { heads: H, kvHeads: Hkv };
    const before = gpu.recorder.total;
    expect(() => attentionForward(gpu, q, kBad, k, out, lse, opts)).toThrow(/attentionForward: k \[2, 6, 128\] f32 should be \[2, 5, 128\] f32 \(q \[2, 5, 256\], k \[2, 6, 128\]/);
    expect(() => attentionForward(gpu, q, k, k, out, lseBad, opts)).toThrow(/attentionForward: lse \[2, 5, 4\] f32 should be \[2, 4, 5\] f32/);
    expect(() => attentionForward(gpu, q, k, k, out, lse, { heads: 3, kvHeads: 2 })).toThrow(/attentionForward: heads 3 must be a positive multiple of kvHeads 2/);
    expect(() => attentionBackward(gpu, q, k, k, out, lse, out, out, k, kBad, opts)).toThrow(/attentionBackward: dv \[2, 6, 128\] f32 should be \[2, 5, 128\] f32/);
    const seg = tensorFrom(gpu, new Uint32Array(B * (T + 1)), [B, T + 1], "u32");
    expect(() => attentionForward(gpu, q, k, k, out, lse, { ...opts, segStart: seg })).toThrow(/attentionForward: segStart \[2, 6\] u32 should be \[2, 5\] u32/);
    expect(gpu.recorder.total).toBe(before);
  });
});

describe("long sequence", () => {
  /** Runs forward and backward at [1, T, 64] with one head; returns the bytes of every buffer created. */
  async function longRun(gpu: Gpu, T: number, x: Inputs): Promise<{ sizes: number[]; r: Result }> {
    trimPool(gpu); // so that every tensor below is a fresh buffer, counted by the hook
    const device = gpu.device as GPUDevice & { createBuffer: GPUDevice["createBuffer"] };
    const create = device.createBuffer.bind(device);
    const sizes: number[] = [];
    device.createBuffer = (desc: GPUBufferDescriptor) => {
      sizes.push(desc.size);
      return create(desc);
    };
    const tensors: Tensor[] = [];
    try {
      const t = (data: Float32Array, shape: number[]) => (tensors.push(tensorFrom(gpu, data, shape)), tensors.at(-1)!);
      const p = (shape: number[]) => (tensors.push(poisoned(gpu, shape)), tensors.at(-1)!);
      const [q, k, v, dout] = [t(x.q, [1, T, 64]), t(x.k, [1, T, 64]), t(x.v, [1, T, 64]), t(x.dout, [1, T, 64])];
      const [out, lse, dq, dk, dv] = [p([1, T, 64]), p([1, 1, T]), p([1, T, 64]), p([1, T, 64]), p([1, T, 64])];
      const opts = { heads: 1, kvHeads: 1 };
      attentionForward(gpu, q, k, v, out, lse, opts);
      attentionBackward(gpu, q, k, v, out, lse, dout, dq, dk, dv, opts);
      await sync(gpu);
    } finally {
      delete (device as { createBuffer?: unknown }).createBuffer; // back to the prototype's method
    }
    const read = async (i: number) => (await readTensor(gpu, tensors[i]!)) as Float32Array;
    const r = { out: await read(4), lse: await read(5), dq: await read(6), dk: await read(7), dv: await read(8) };
    for (const tt of tensors) releaseTensor(gpu, tt);
    return { sizes, r };
  }

  test("T = 16384, one head, D = 64: forward and backward finish, match the twin on sampled rows, allocate O(T)", async () => {
    const gpu = await testGpu();
    const bytes: Record<number, { total: number; largest: number }> = {};
    for (const T of [4096, 16384]) {
      const d: AttentionDims = { B: 1, T, H: 1, Hkv: 1, D: 64 };
      const x = inputs(d, T);
      const { sizes, r } = await longRun(gpu, T, x);
      bytes[T] = { total: sizes.reduce((a, b) => a + b, 0), largest: Math.max(...sizes) };
      if (T !== 16384) continue;
      // Sampled rows against the twin: outputs and dq per query, dk and dv per key (the key rows
      // use the GPU's lse and out for the queries' softmax, themselves checked on the sampled rows).
      for (const t of [0, 1, 4095, 9999, T - 2, T - 1]) {
        const row = attentionRowRef(x.q, x.k, x.v, d, {}, 0, 0, t);
        expectClose(`long.out[${t}]`, r.out.subarray(t * 64, (t + 1) * 64), row.out, [64], TOL.out[0], TOL.out[1]);
        expectClose(`long.lse[${t}]`, [r.lse[t]!], [row.lse], [1], TOL.lse[0], TOL.lse[1]);
        expectClose(`long.dq[${t}]`, r.dq.subarray(t * 64, (t + 1) * 64), attentionDqRowRef(x.q, x.k, x.v, r.out, r.lse, x.dout, d, {}, 0, 0, t), [64], TOL.grad[0], TOL.grad[1]);
      }
      for (const j of [0, 777, T - 1]) {
        const g = attentionDkvRowRef(x.q, x.k, x.v, r.out, r.lse, x.dout, d, {}, 0, 0, j);
        expectClose(`long.dk[${j}]`, r.dk.subarray(j * 64, (j + 1) * 64), g.dk, [64], 1e-4, 1e-3);
        expectClose(`long.dv[${j}]`, r.dv.subarray(j * 64, (j + 1) * 64), g.dv, [64], 1e-4, 1e-3);
      }
    }
    // Everything allocated: 8 tensors of [T, 64] f32 (2048 bytes per token), lse and the backward's
    // stats (12 bytes per token), pool rounding (<= 12.5%). A [T, T] buffer would be 1 GiB at 16K.
    console.log(`attention T=4096: ${bytes[4096]!.total} bytes allocated (largest ${bytes[4096]!.largest}); ` +
      `T=16384: ${bytes[16384]!.total} bytes (largest ${bytes[16384]!.largest})`);
    for (const T of [4096, 16384]) expect(bytes[T]!.total).toBeLessThanOrEqual(2400 * T);
    expect(bytes[16384]!.largest).toBeLessThanOrEqual(16384 * 64 * 4 * 1.125);
    expect(bytes[16384]!.total / bytes[4096]!.total).toBeLessThan(4.2);
  }, 120_000);
});
