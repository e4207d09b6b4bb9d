// Decode attention: one new query per row b against a KV cache held in two sources, split over the
// key axis into chunks so a long cache is spread over many invocations (flash-decoding: partial
// max / sum / output per chunk, then a fixed-order combine; Dao et al. 2023).
// Sources (either may be absent: then its chunk count is 0):
//   shared prefix: kp, vp [Bp, P, Hkv*D]; row b reads prefix row prefixRow[b], its first
//     prefixLen[prefixRow[b]] keys (G sampled continuations of one prompt share one prefix row);
//   own cache: k, v [S, B, Hkv*D] (slot-major: a decode step appends all B rows' keys as one
//     contiguous copy); row b reads its first lens[b] keys (the new token included when
//     the caller has written it).
// Row b attends to every key of both (the cache holds only the past). GQA: head h reads kv head
// h / (H / Hkv). A row with no key at all gets out 0.
//
// attention_decode_partial: part[(b*H + h)*C + c] = (m, l) and acc[D] of chunk c (C = CP + CS
//   chunks of `chunk` keys: CP over the prefix capacity P, then CS over S). Invocation per
//   (group of RG rows, group of HG heads sharing a kv head, c), so each K/V row it reads serves
//   RG·HG queries. RG > 1 only over the prefix: rows b0 .. b0 + RG - 1 must then read the same
//   prefix row (the host's rowsPerPrefix: G samples of one prompt are consecutive rows).
//   Two dispatches: PREFIX over the CP prefix chunks, grid ceil(B/RG·(H/HG)·CP / 64); then without,
//   over the CS own chunks (RG = 1), grid ceil(B·(H/HG)·CS / 64). Bindings 1 q [B, H*D], 2 kp, 3 vp, 4 prefixRow u32 [B],
//   5 prefixLen u32 [Bp], 6 k, 7 v, 8 lens u32 [B], 9 part [B·H·C, D/4 + 1] vec4 (read_write).
// attention_decode_combine: out[b, h*D + 4c ..] = merge over chunks (in order) of part.
//   Invocation per (b, h, c < D/4); grid ceil(B·H·D/4 / 64). Bindings 9 part, 10 out [B, H*D].

struct Params {
  B: u32, H: u32, Hkv: u32,
  P: u32, S: u32,   // capacities of the prefix and own caches (keys)
  CP: u32, CS: u32, // chunks over each
  chunk: u32,       // keys per chunk
  scale: f32,
}

override D: u32 = 64u; // head dim, a multiple of 4, at most 128
override PREFIX: bool = false; // this dispatch covers the prefix chunks (else the own-cache chunks)
override HG: u32 = 1u; // query heads per invocation, all of one kv head's group: 1, 2 or 4
const KB = 8u;
override RG: u32 = 1u; // rows per invocation, all reading one prefix row: 1, 2 or 4 (RG·HG·D <= 256, RG·HG <= 8)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> kp: array<vec4f>;
@group(0) @binding(3) var<storage, read> vp: array<vec4f>;
@group(0) @binding(4) var<storage, read> prefix_row: array<u32>;
@group(0) @binding(5) var<storage, read> prefix_len: array<u32>;
@group(0) @binding(6) var<storage, read> k: array<vec4f>;
@group(0) @binding(7) var<storage, read> v: array<vec4f>;
@group(0) @binding(8) var<storage, read> lens: array<u32>;
@group(0) @binding(9) var<storage, read_write> part: array<vec4f>;
@group(0) @binding(10) var<storage, read_write> out: array<vec4f>;

const NEG = -3.0e38;

fn load_k(i: u32) -> vec4f {
  if (PREFIX) { return kp[i]; }
  return k[i];
}
fn load_v(i: u32) -> vec4f {
  if (PREFIX) { return vp[i]; }
  return v[i];
}

@compute @workgroup_size(64)
fn attention_decode_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                            @builtin(local_invocation_index) li: u32) {
  let C = p.CP + p.CS;
  let NH = p.H / HG; // head groups
  let NQ = RG * HG;  // queries: q = r * HG + g is row b0 + r, head h0 + g
  var CN = p.CS; // chunks of this dispatch's source
  if (PREFIX) { CN = p.CP; }
  let i = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * 64u + li; // = (bg * NH + hg) * CN + cn
  if (i >= p.B / RG * NH * CN) { return; }
  let cn = i % CN;
  let b0 = i / CN / NH * RG;
  let h0 = (i / CN) % NH * HG; // heads h0 .. h0 + HG - 1 share kv head hk
  let hk = h0 / (p.H / p.Hkv);
  let D4 = D / 4u;
  let kstride = p.Hkv * D4;
  // This chunk's keys [lo, hi), the offset of key 0 of its source, its index among all C chunks.
  let lo = cn * p.chunk;
  var hi: u32;
  var base: u32;
  var kst = kstride; // vec4s from one key to the next
  var c = cn;
  if (PREFIX) {
    let row = prefix_row[b0];
    hi = min(lo + p.chunk, min(prefix_len[row], p.P));
    base = row * p.P * kstride + hk * D4;
  } else {
    hi = min(lo + p.chunk, min(lens[b0], p.S));
    base = b0 * kstride + hk * D4;
    kst = p.B * kstride;
    c = p.CP + cn;
  }
  // Every variable is declared here, outside the loops (see shaders/attention_common.wgsl).
  var acc: array<vec4f, 64>; // acc[q * D4 + d]
  var m: array<f32, 8>;      // per query (NQ <= 8)
  var l: array<f32, 8>;
  var alpha: array<f32, 8>;
  var s: array<f32, 64>;    // s[q * KB + jj]: scores of the block's KB keys, then exp(s - m)
  var kv: array<vec4f, 8>;
  var a: vec4f;
  var mx: f32;
  for (var g = 0u; g < NQ; g++) {
    for (var d = 0u; d < D4; d++) {
      acc[g * D4 + d] = vec4f(0.0);
    }
    m[g] = NEG;
    l[g] = 0.0;
  }
  // Blocks of KB keys, each loaded once for the NQ queries; one rescale of acc per block. Keys past
  // hi are read clamped and masked. q is re-read per use rather than kept in registers: with q
  // held too (another NQ·D floats live) lavapipe spilled heavily and took 7 s to compile, not 1.4.
  for (var j0 = lo; j0 < hi; j0 += KB) {
    for (var x = 0u; x < KB * NQ; x++) { s[x] = 0.0; }
    for (var d = 0u; d < D4; d++) {
      for (var jj = 0u; jj < KB; jj++) { kv[jj] = load_k(base + min(j0 + jj, max(hi, 1u) - 1u) * kst + d); }
      for (var g = 0u; g < NQ; g++) {
        a = q[((b0 + g / HG) * p.H + h0 + g % HG) * D4 + d]; // re-read, not kept: registers go to acc
        for (var jj = 0u; jj < KB; jj++) { s[g * KB + jj] += dot(a, kv[jj]); }
      }
    }
    for (var g = 0u; g < NQ; g++) {
      mx = m[g];
      for (var jj = 0u; jj < KB; jj++) {
        s[g * KB + jj] = select(NEG, s[g * KB + jj] * p.scale, j0 + jj < hi);
        mx = max(mx, s[g * KB + jj]);
      }
      alpha[g] = exp(m[g] - mx);
      m[g] = mx;
      l[g] *= alpha[g];
      for (var jj = 0u; jj < KB; jj++) {
        s[g * KB + jj] = select(0.0, exp(s[g * KB + jj] - mx), j0 + jj < hi);
        l[g] += s[g * KB + jj];
      }
    }
    for (var d = 0u; d < D4; d++) {
      for (var jj = 0u; jj < KB; jj++) { kv[jj] = load_v(base + min(j0 + jj, max(hi, 1u) - 1u) * kst + d); }
      for (var g = 0u; g < NQ; g++) {
        a = acc[g * D4 + d] * alpha[g];
        for (var jj = 0u; jj < KB; jj++) { a = fma(vec4f(s[g * KB + jj]), kv[jj], a); }
        acc[g * D4 + d] = a;
      }
    }
  }
  for (var g = 0u; g < NQ; g++) {
    let rec = (((b0 + g / HG) * p.H + h0 + g % HG) * C + c) * (D4 + 1u);
    part[rec] = vec4f(m[g], l[g], 0.0, 0.0);
    for (var d = 0u; d < D4; d++) { part[rec + 1u + d] = acc[g * D4 + d]; }
  }
}

@compute @workgroup_size(64)
fn attention_decode_combine(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                            @builtin(local_invocation_index) li: u32) {
  let D4 = D / 4u;
  let i = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * 64u + li; // = (b * H + h) * D4 + d
  if (i >= p.B * p.H * D4) { return; }
  let C = p.CP + p.CS;
  let d = i % D4;
  let first = (i / D4) * C;
  var m = NEG;
  var l = 0.0;
  var a = vec4f(0.0);
  for (var c = 0u; c < C; c++) {
    let rec = (first + c) * (D4 + 1u);
    let ml = part[rec];
    let mx = max(m, ml.x);
    let a1 = exp(m - mx);
    let a2 = exp(ml.x - mx);
    l = l * a1 + ml.y * a2;
    a = a * a1 + part[rec + 1u + d] * a2;
    m = mx;
  }
  out[i] = select(vec4f(0.0), a / l, l > 0.0);
}
