// Host half of shaders/attention_decode.wgsl: one new query per row against a KV cache in two
// sources (a shared prefix, and the row's own tokens), split over the key axis into chunks and
// combined in a fixed order. Shape checks and dispatch; nothing else.
// Letters: B rows, H query heads, Hkv kv heads, D head dim, Bp prefix rows, P prefix capacity,
// S own-cache capacity, C chunks.
import type { Gpu } from "../gpu/context.ts";
import { dispatch } from "../gpu/recorder.ts";
import { packParams } from "../gpu/params.ts";
import { shader } from "../gpu/pipeline.ts";
import { type Tensor, createTensor, releaseTensor, shapeString } from "../gpu/tensor.ts";
import { runError } from "../util/errors.ts";
import source from "../../shaders/attention_decode.wgsl" with { type: "text" };

const DECODE = shader("shaders/attention_decode.wgsl", source);
/** Keys per chunk: one invocation's serial loop. 60K keys make ~940 chunks per (row, head). */
export const DECODE_CHUNK = 64;

/** A prompt's cache shared by several rows (G samples of one prompt). */
export interface DecodePrefix {
  /** [Bp, P, Hkv*D] */
  k: Tensor;
  v: Tensor;
  /** u32 [B]: the prefix row each row reads. */
  row: Tensor;
  /** u32 [Bp]: valid keys of each prefix row (<= P). */
  len: Tensor;
}

/** Each row's own cache (its tokens after the prefix, the new one included once written). */
export interface DecodeOwn {
  /** [S, B, Hkv*D], slot-major: a decode step writes all rows' new keys as one contiguous block. */
  k: Tensor;
  v: Tensor;
  /** u32 [B]: valid keys of each row (<= S). */
  len: Tensor;
}

export interface DecodeOptions {
  heads: number;
  kvHeads: number;
  /** Softmax scale (default 1/sqrt(D)). */
  scale?: number;
  /** Keys per chunk (default DECODE_CHUNK). */
  chunk?: number;
  /**
   * Rows b·n .. b·n + n − 1 read the same prefix row (G samples of one prompt; default 1). The
   * kernel then reads each prefix key once for up to 4 of them; the result is the same.
   */
  rowsPerPrefix?: number;
}

const dummies = new WeakMap<Gpu, { f: Tensor; u: Tensor }>();
function dummy(gpu: Gpu): { f: Tensor; u: Tensor } {
  let d = dummies.get(gpu);
  if (!d || d.f.released || d.u.released) {
    dummies.set(gpu, (d = { f: createTensor(gpu, [4], "f32", "attentionDecode.unused"), u: createTensor(gpu, [4], "u32", "attentionDecode.unused") }));
  }
  return d;
}

/** A vec4 binding of the whole buffer (an empty cache still binds 16 bytes; pool buffers are >= 256). */
function vec4View(t: Tensor) {
  return { tensor: t, offset: 0, size: Math.max(16, Math.ceil(t.byteSize / 16) * 16) };
}

function same(t: Tensor, shape: readonly number[], dtype: string): boolean {
  return t.dtype === dtype && t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
}

/**
 * out [B, H*D] = attention of q [B, H*D] (one query per row) over the row's prefix keys (if any)
 * followed by its own keys (if any). At least one source must be given. A row with no key gets 0.
 */
export function attentionDecode(gpu: Gpu, q: Tensor, prefix: DecodePrefix | undefined, own: DecodeOwn | undefined, out: Tensor, opts: DecodeOptions): void {
  const op = "attentionDecode";
  const { heads: H, kvHeads: Hkv } = opts;
  const desc =
    `q ${shapeString(q.shape)}, out ${shapeString(out.shape)}` +
    (prefix ? `, prefix k ${shapeString(prefix.k.shape)} v ${shapeString(prefix.v.shape)} row ${shapeString(prefix.row.shape)} len ${shapeString(prefix.len.shape)}` : "") +
    (own ? `, own k ${shapeString(own.k.shape)} v ${shapeString(own.v.shape)} len ${shapeString(own.len.shape)}` : "") +
    `, H ${H}, Hkv ${Hkv}`;
  if (!(Number.isInteger(H) && Number.isInteger(Hkv) && H > 0 && Hkv > 0 && H % Hkv === 0)) {
    throw runError(`${op}: heads ${H} must be a positive multiple of kvHeads ${Hkv} (${desc})`);
  }
  if (q.shape.length !== 2) throw runError(`${op}: q must be [B, H*D] (${desc})`);
  const [B, HD] = q.shape as [number, number];
  const D = HD / H;
  if (!Number.isInteger(D) || D % 4 !== 0 || D < 4 || D > 128) throw runError(`${op}: head dim D = ${HD}/${H} must be a multiple of 4 in [4, 128] (${desc})`);
  if (!same(q, [B, H * D], "f32") || !same(out, [B, H * D], "f32")) throw runError(`${op}: q and out must be f32 [B, H*D] (${desc})`);
  if (!prefix && !own) throw runError(`${op}: needs a prefix cache, an own cache, or both (${desc})`);
  let P = 0;
  let Bp = 0;
  if (prefix) {
    [Bp, P] = prefix.k.shape as [number, number];
    const ok = same(prefix.k, [Bp, P, Hkv * D], "f32") && same(prefix.v, [Bp, P, Hkv * D], "f32") && same(prefix.row, [B], "u32") && same(prefix.len, [Bp], "u32");
    if (!ok) throw runError(`${op}: prefix must be k, v f32 [Bp, P, Hkv*D], row u32 [B], len u32 [Bp] (${desc})`);
  }
  let S = 0;
  if (own) {
    S = own.k.shape[0] ?? 0;
    const ok = same(own.k, [S, B, Hkv * D], "f32") && same(own.v, [S, B, Hkv * D], "f32") && same(own.len, [B], "u32");
    if (!ok) throw runError(`${op}: own must be k, v f32 [S, B, Hkv*D], len u32 [B] (${desc})`);
  }
  const chunk = opts.chunk ?? DECODE_CHUNK;
  if (!(Number.isInteger(chunk) && chunk > 0)) throw runError(`${op}: chunk ${chunk} must be a positive integer`);
  const CP = Math.ceil(P / chunk);
  const CS = Math.ceil(S / chunk);
  const C = CP + CS;
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const params = packParams([B, H, Hkv, P, S, CP, CS, chunk], [scale]);
  const none = dummy(gpu);
  // Heads per invocation: the largest of 4, 2, 1 that divides the group size H / Hkv, within 256 floats.
  const HG = [4, 2, 1].find((g) => (H / Hkv) % g === 0 && g * D <= 256)!;
  // Rows per invocation over the prefix: the largest of 4, 2, 1 that divides rowsPerPrefix (and so B), within the same
  // 256 floats and at most 8 queries (the shader's per-query arrays).
  const share = opts.rowsPerPrefix ?? 1;
  if (!(Number.isInteger(share) && share > 0 && B % share === 0)) throw runError(`${op}: rowsPerPrefix ${share} must be a positive divisor of the ${B} rows (${desc})`);
  const RG = prefix ? [4, 2, 1].find((r) => share % r === 0 && r * HG * D <= 256 && r * HG <= 8)! : 1;
  const part = createTensor(gpu, [B, H, Math.max(C, 1), D + 4], "f32", "attentionDecode.part"); // part: [B, H, C, (m, l, 0, 0) + acc[D]]
  const bindings = [q, vec4View(prefix?.k ?? none.f), vec4View(prefix?.v ?? none.f), prefix?.row ?? none.u, prefix?.len ?? none.u, vec4View(own?.k ?? none.f), vec4View(own?.v ?? none.f), own?.len ?? none.u, part];
  // One dispatch per source (an override picks the buffers: no branch per load).
  for (const [PREFIX, chunks, rows] of [[true, CP, RG], [false, CS, 1]] as const) {
    dispatch(gpu, {
      op,
      shader: DECODE,
      entry: "attention_decode_partial",
      constants: { D, HG, RG: rows, PREFIX },
      params,
      bindings,
      workgroups: Math.ceil(((B / rows) * (H / HG) * chunks) / 64),
    });
  }
  dispatch(gpu, {
    op,
    shader: DECODE,
    entry: "attention_decode_combine",
    constants: { D },
    params,
    bindings: [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, part, out],
    workgroups: Math.ceil((B * H * D) / 4 / 64),
  });
  releaseTensor(gpu, part);
}
