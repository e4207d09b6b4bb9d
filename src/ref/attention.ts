// Float64 twins of src/kernels/attention.ts and src/kernels/attention_decode.ts (same argument
// order), for tests and `longrl bench`. Straight from the definitions: scores for every visible
// (query, key) pair, a softmax per query, and the gradients of softmax(scale·q·kᵀ)·v.
// Layouts as on the GPU: q, out [B, T, H*D]; k, v [B, T, Hkv*D]; lse [B, H, T]; flat row-major.

export interface AttentionDims {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
}

export interface AttentionRefOptions {
  /** Default 1/sqrt(D). */
  scale?: number;
  /** [B, T] */
  segStart?: ArrayLike<number>;
  /** [B] */
  prefixLen?: ArrayLike<number>;
  /** [B] */
  seqLen?: ArrayLike<number>;
}

/** Query t of row b sees key j iff j <= t < seqLen[b] and (j < prefixLen[b] or j >= segStart[b, t]). */
export function attentionVisible(dims: AttentionDims, opts: AttentionRefOptions, b: number, t: number, j: number): boolean {
  const len = opts.seqLen ? Math.min(opts.seqLen[b]!, dims.T) : dims.T;
  if (!(j <= t && t < len)) return false;
  if (!opts.segStart) return true;
  const prefix = opts.prefixLen ? opts.prefixLen[b]! : 0;
  return j < prefix || j >= opts.segStart[b * dims.T + t]!;
}

const qIndex = (d: AttentionDims, b: number, t: number, h: number) => ((b * d.T + t) * d.H + h) * d.D;
const kIndex = (d: AttentionDims, b: number, t: number, hk: number) => ((b * d.T + t) * d.Hkv + hk) * d.D;

function dot(x: ArrayLike<number>, xi: number, y: ArrayLike<number>, yi: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[xi + i]! * y[yi + i]!;
  return s;
}

/** One query's output row [D] and lse (out 0 and lse 0 when it sees no key). */
export function attentionRowRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dims: AttentionDims, opts: AttentionRefOptions,
  b: number, h: number, t: number,
): { out: Float64Array; lse: number } {
  const { D } = dims;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const hk = Math.floor(h / (dims.H / dims.Hkv));
  const qi = qIndex(dims, b, t, h);
  const keys: number[] = [];
  const scores: number[] = [];
  let mx = -Infinity;
  for (let j = 0; j <= t; j++) {
    if (!attentionVisible(dims, opts, b, t, j)) continue;
    const s = scale * dot(q, qi, k, kIndex(dims, b, j, hk), D);
    keys.push(j);
    scores.push(s);
    mx = Math.max(mx, s);
  }
  const out = new Float64Array(D);
  if (keys.length === 0) return { out, lse: 0 };
  let sum = 0;
  for (let n = 0; n < keys.length; n++) {
    const e = Math.exp(scores[n]! - mx);
    sum += e;
    const vi = kIndex(dims, b, keys[n]!, hk);
    for (let d = 0; d < D; d++) out[d]! += e * v[vi + d]!;
  }
  for (let d = 0; d < D; d++) out[d]! /= sum;
  return { out, lse: mx + Math.log(sum) };
}

/** out [B, T, H*D] and lse [B, H, T]. */
export function attentionForwardRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dims: AttentionDims, opts: AttentionRefOptions = {},
): { out: Float64Array; lse: Float64Array } {
  const { B, T, H, D } = dims;
  const out = new Float64Array(B * T * H * D);
  const lse = new Float64Array(B * H * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const row = attentionRowRef(q, k, v, dims, opts, b, h, t);
        out.set(row.out, qIndex(dims, b, t, h));
        lse[(b * H + h) * T + t] = row.lse;
      }
    }
  }
  return { out, lse };
}

/**
 * dq, dk, dv for dout, with p = exp(scale·q·k - lse) recomputed from the given lse and
 * delta = rowsum(dout ⊙ out) (FlashAttention-2, Dao 2023): ds = p·(dout·v - delta),
 * dq = scale·ds·k, dk = scale·dsᵀ·q, dv = pᵀ·dout (dk, dv summed over each kv head's group).
 */
export function attentionBackwardRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, out: ArrayLike<number>, lse: ArrayLike<number>,
  dout: ArrayLike<number>, dims: AttentionDims, opts: AttentionRefOptions = {},
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { B, T, H, Hkv, D } = dims;
  const dq = new Float64Array(B * T * H * D);
  const dk = new Float64Array(B * T * Hkv * D);
  const dv = new Float64Array(B * T * Hkv * D);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < H; h++) dq.set(attentionDqRowRef(q, k, v, out, lse, dout, dims, opts, b, h, t), qIndex(dims, b, t, h));
      for (let hk = 0; hk < Hkv; hk++) {
        const g = attentionDkvRowRef(q, k, v, out, lse, dout, dims, opts, b, hk, t);
        dk.set(g.dk, kIndex(dims, b, t, hk));
        dv.set(g.dv, kIndex(dims, b, t, hk));
      }
    }
  }
  return { dq, dk, dv };
}

/** p and ds of one visible (query t of head h, key j) pair. */
function pairGrad(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, out: ArrayLike<number>, lse: ArrayLike<number>,
  dout: ArrayLike<number>, dims: AttentionDims, scale: number, b: number, h: number, t: number, j: number,
): { p: number; ds: number } {
  const { D } = dims;
  const qi = qIndex(dims, b, t, h);
  const ki = kIndex(dims, b, j, Math.floor(h / (dims.H / dims.Hkv)));
  const p = Math.exp(scale * dot(q, qi, k, ki, D) - lse[(b * dims.H + h) * dims.T + t]!);
  return { p, ds: p * (dot(dout, qi, v, ki, D) - dot(dout, qi, out, qi, D)) };
}

/** One row of dq: query t of head h. */
export function attentionDqRowRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, out: ArrayLike<number>, lse: ArrayLike<number>,
  dout: ArrayLike<number>, dims: AttentionDims, opts: AttentionRefOptions, b: number, h: number, t: number,
): Float64Array {
  const { D } = dims;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const hk = Math.floor(h / (dims.H / dims.Hkv));
  const dq = new Float64Array(D);
  for (let j = 0; j <= t; j++) {
    if (!attentionVisible(dims, opts, b, t, j)) continue;
    const { ds } = pairGrad(q, k, v, out, lse, dout, dims, scale, b, h, t, j);
    const ki = kIndex(dims, b, j, hk);
    for (let d = 0; d < D; d++) dq[d]! += scale * ds * k[ki + d]!;
  }
  return dq;
}

/** One row of dk and dv: key j of kv head hk, summed over the group's query heads and queries. */
export function attentionDkvRowRef(
  q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, out: ArrayLike<number>, lse: ArrayLike<number>,
  dout: ArrayLike<number>, dims: AttentionDims, opts: AttentionRefOptions, b: number, hk: number, j: number,
): { dk: Float64Array; dv: Float64Array } {
  const { T, H, Hkv, D } = dims;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const G = H / Hkv;
  const dk = new Float64Array(D);
  const dv = new Float64Array(D);
  for (let h = hk * G; h < (hk + 1) * G; h++) {
    for (let t = j; t < T; t++) {
      if (!attentionVisible(dims, opts, b, t, j)) continue;
      const { p, ds } = pairGrad(q, k, v, out, lse, dout, dims, scale, b, h, t, j);
      const qi = qIndex(dims, b, t, h);
      for (let d = 0; d < D; d++) {
        dv[d]! += p * dout[qi + d]!;
        dk[d]! += scale * ds * q[qi + d]!;
      }
    }
  }
  return { dk, dv };
}

/** The shared-prefix source of attentionDecode: kp, vp [Bp, P, Hkv*D], row [B], len [Bp]. */
export interface DecodePrefixRef {
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  row: ArrayLike<number>;
  len: ArrayLike<number>;
  /** Capacity P (keys per prefix row). */
  P: number;
}

/** The per-row source: k, v, len [B]. */
export interface DecodeOwnRef {
  /** [S, B, Hkv*D], slot-major as the kernel's. */
  k: ArrayLike<number>;
  v: ArrayLike<number>;
  len: ArrayLike<number>;
  /** Capacity S (keys per row). */
  S: number;
}

/** out [B, H*D]: one query per row over its prefix keys then its own keys (out 0 if none). */
export function attentionDecodeRef(
  q: ArrayLike<number>, prefix: DecodePrefixRef | undefined, own: DecodeOwnRef | undefined,
  dims: { B: number; H: number; Hkv: number; D: number }, opts: { scale?: number } = {},
): Float64Array {
  const { B, H, Hkv, D } = dims;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const out = new Float64Array(B * H * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const hk = Math.floor(h / (H / Hkv));
      const qi = (b * H + h) * D;
      const rows: { kv: ArrayLike<number>; vv: ArrayLike<number>; at: number }[] = [];
      if (prefix) {
        const r = prefix.row[b]!;
        const n = Math.min(prefix.len[r]!, prefix.P);
        for (let j = 0; j < n; j++) rows.push({ kv: prefix.k, vv: prefix.v, at: ((r * prefix.P + j) * Hkv + hk) * D });
      }
      if (own) {
        const n = Math.min(own.len[b]!, own.S);
        for (let j = 0; j < n; j++) rows.push({ kv: own.k, vv: own.v, at: ((j * B + b) * Hkv + hk) * D });
      }
      if (rows.length === 0) continue;
      const s = rows.map((r) => scale * dot(q, qi, r.kv, r.at, D));
      const mx = s.reduce((a, x) => Math.max(a, x), -Infinity);
      let sum = 0;
      rows.forEach((r, n) => {
        const e = Math.exp(s[n]! - mx);
        sum += e;
        for (let d = 0; d < D; d++) out[qi + d]! += e * r.vv[r.at + d]!;
      });
      for (let d = 0; d < D; d++) out[qi + d]! /= sum;
    }
  }
  return out;
}
