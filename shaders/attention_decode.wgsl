// Decode attention: one new query per row b against a KV cache held in two sources, split over the
// key axis into chunks so a long cache is spread over many invocations (flash-decoding: partial
// max / sum / output per chunk, then a fixed-order combine; Dao et al. 2023).
// Sources (either may be absent: then its chunk count is 0):
//   shared prefix: kp, vp [Bp, P, Hkv*D]; row b reads prefix row prefixRow[b], its first
//     prefixLen[prefixRow[b]] keys (G sampled continuations of one prompt share one prefix row);
//   own cache: k, v [B, S, Hkv*D]; row b reads its first lens[b] keys (the new token included when
//     the caller has written it).
// Row b attends to every key of both (the cache holds only the past). GQA: head h reads kv head
// h / (H / Hkv). A row with no key at all gets out 0.
//
// attention_decode_partial: part[(b*H + h)*C + c] = (m, l) and acc[D] of chunk c (C = CP + CS
//   chunks of `chunk` keys: CP over the prefix capacity P, then CS over S). Invocation per
//   (b, h, c); grid ceil(B·H·C / 64). Bindings 1 q [B, H*D], 2 kp, 3 vp, 4 prefixRow u32 [B],
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

fn load_k(prefix: bool, i: u32) -> vec4f {
  if (prefix) { return kp[i]; }
  return k[i];
}
fn load_v(prefix: bool, i: u32) -> vec4f {
  if (prefix) { return vp[i]; }
  return v[i];
}

@compute @workgroup_size(64)
fn attention_decode_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                            @builtin(local_invocation_index) li: u32) {
  let C = p.CP + p.CS;
  let i = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * 64u + li;
  if (i >= p.B * p.H * C) { return; }
  let c = i % C;
  let b = i / C / p.H;
  let h = (i / C) % p.H;
  let hk = h / (p.H / p.Hkv);
  let D4 = D / 4u;
  let kstride = p.Hkv * D4;
  // This chunk's keys [lo, hi) and the offset of key 0 of its source.
  let prefix = c < p.CP;
  var lo: u32;
  var hi: u32;
  var base: u32;
  if (prefix) {
    let row = prefix_row[b];
    lo = c * p.chunk;
    hi = min(lo + p.chunk, min(prefix_len[row], p.P));
    base = row * p.P * kstride + hk * D4;
  } else {
    lo = (c - p.CP) * p.chunk;
    hi = min(lo + p.chunk, min(lens[b], p.S));
    base = b * p.S * kstride + hk * D4;
  }
  var qs: array<vec4f, 32>;
  var acc: array<vec4f, 32>;
  for (var d = 0u; d < D4; d++) {
    qs[d] = q[(b * p.H + h) * D4 + d] * p.scale;
    acc[d] = vec4f(0.0);
  }
  var m = NEG;
  var l = 0.0;
  // Blocks of 4 keys: one rescale of acc per block. Keys past hi are read clamped and masked.
  for (var j0 = lo; j0 < hi; j0 += 4u) {
    var s: array<f32, 4>;
    for (var jj = 0u; jj < 4u; jj++) {
      let row = base + min(j0 + jj, hi - 1u) * kstride;
      var x = 0.0;
      for (var d = 0u; d < D4; d++) { x += dot(qs[d], load_k(prefix, row + d)); }
      s[jj] = select(NEG, x, j0 + jj < hi);
    }
    let mx = max(m, max(max(s[0], s[1]), max(s[2], s[3])));
    let alpha = exp(m - mx);
    m = mx;
    var e: array<f32, 4>;
    for (var jj = 0u; jj < 4u; jj++) { e[jj] = select(0.0, exp(s[jj] - mx), j0 + jj < hi); }
    l = l * alpha + e[0] + e[1] + e[2] + e[3];
    for (var d = 0u; d < D4; d++) {
      var a = acc[d] * alpha;
      for (var jj = 0u; jj < 4u; jj++) {
        a = fma(vec4f(e[jj]), load_v(prefix, base + min(j0 + jj, hi - 1u) * kstride + d), a);
      }
      acc[d] = a;
    }
  }
  let rec = i * (D4 + 1u);
  part[rec] = vec4f(m, l, 0.0, 0.0);
  for (var d = 0u; d < D4; d++) { part[rec + 1u + d] = acc[d]; }
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
