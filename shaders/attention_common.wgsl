// Shared by the attention kernels (spliced in by `// #include`): Params, overrides, bindings, the
// per-workgroup row state, row offsets and the visibility rule.
// Letters: B batch, T tokens, H query heads, Hkv kv heads, D head dim, G = H / Hkv.
// Layouts (row-major; offsets below are in vec4 units, D % 4 == 0):
//   q, out, dout, dq [B, T, H*D]; k, v, dk, dv [B, T, Hkv*D]; lse [B, H, T];
//   stats [B, H, T] of vec2 (lse, delta = rowsum(dout ⊙ out)), written by attention_backward_prep.
//   prefixLen u32 [B], segStart u32 [B, T], seqLen u32 [B] (each optional; see `visible`).
// Bindings: 0 params; 1 q, 2 k, 3 v, 4 out, 5 lse, 6 dout, 7 stats, 8 dq, 9 dk, 10 dv (vec4 views
// except lse and stats); 11 prefixLen, 12 segStart, 13 seqLen. Each entry uses a subset.
// Toolchain notes (Dawn + lavapipe, seen here): a `var` declared inside a loop body is not re-zeroed
// on each iteration, and it can make the shader compiler take 5-15 s instead of ~1 s. So every
// array lives at function scope and is reset explicitly where needed.

struct Params {
  B: u32, T: u32, H: u32, Hkv: u32,
  tiles: u32,      // row tiles per (b, head): ceil(T / (8 * R))
  count: u32,      // workgroups that do work (the grid may be folded and padded)
  masks: u32,      // which masks are bound: HAS_SEG | HAS_PREFIX | HAS_SEQLEN
  scale: f32,      // softmax scale, 1/sqrt(D) by default
}

override D: u32 = 64u;       // head dim, a multiple of 4, at most 128
override R: u32 = 2u;        // rows owned per lane: queries (forward, dq) or keys (dk/dv); R * D <= 256
override NB: u32 = 2u;       // the rows shared per step: 8 * NB keys (forward, dq) or queries (dk/dv)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> stats: array<vec2f>;
@group(0) @binding(8) var<storage, read_write> dq: array<vec4f>;
@group(0) @binding(9) var<storage, read_write> dk: array<vec4f>;
@group(0) @binding(10) var<storage, read_write> dv: array<vec4f>;
@group(0) @binding(11) var<storage, read> prefix_len: array<u32>;
@group(0) @binding(12) var<storage, read> seg_start: array<u32>;
@group(0) @binding(13) var<storage, read> seq_len: array<u32>;

// Masks are runtime flags, not override constants: a few integer ops per (query, key) pair cost
// nothing next to 4·D FMAs, and every variant is one more pipeline to compile (seconds on lavapipe).
const HAS_SEG = 1u;    // segStart bound: shared-prefix packing
const HAS_PREFIX = 2u; // prefixLen bound (with segStart)
const HAS_SEQLEN = 4u; // seqLen bound: padded rows
const NEG = -3.0e38; // "minus infinity" for running maxima (finite: exp(NEG - NEG) is 1, not NaN)

// Per-workgroup state, set by `begin`: batch row, query head, kv head, lane, valid length, prefix.
var<private> g_b: u32;
var<private> g_h: u32;
var<private> g_hk: u32;
var<private> g_lane: u32;
var<private> g_len: u32;
var<private> g_prefix: u32;

fn linear_id(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
}

fn begin(b: u32, h: u32, lane: u32) {
  g_b = b;
  g_h = h;
  g_hk = h / (p.H / p.Hkv);
  g_lane = lane;
  g_len = p.T;
  if ((p.masks & HAS_SEQLEN) != 0u) { g_len = min(seq_len[b], p.T); }
  g_prefix = 0u;
  if ((p.masks & HAS_PREFIX) != 0u) { g_prefix = prefix_len[b]; }
}

// Row offsets (vec4 units) of token t (clamped into the sequence, so loads never leave it).
fn qrow(t: u32) -> u32 { return ((g_b * p.T + min(t, p.T - 1u)) * p.H + g_h) * (D / 4u); }
fn krow(t: u32) -> u32 { return ((g_b * p.T + min(t, p.T - 1u)) * p.Hkv + g_hk) * (D / 4u); }
fn stat_index(t: u32) -> u32 { return (g_b * p.H + g_h) * p.T + min(t, p.T - 1u); }

// segStart of query t (0 without segStart: then `visible` is plain causal).
fn seg_of(t: u32) -> u32 {
  if ((p.masks & HAS_SEG) != 0u) { return seg_start[g_b * p.T + min(t, p.T - 1u)]; }
  return 0u;
}

// Query t attends to key j iff j <= t < seqLen and (j < prefixLen or j >= segStart[t]).
fn visible(t: u32, j: u32, seg: u32) -> bool {
  return j <= t && t < g_len && (j < g_prefix || j >= seg);
}

// The key blocks [lo, hi) (multiples of `block`) that no query with segStart >= min_seg can see,
// for the forward and dq key loops: lo = prefixLen rounded up, hi = min_seg rounded down.
fn skip_range(min_seg: u32, block: u32) -> vec2u {
  let lo = (g_prefix + block - 1u) / block * block;
  return vec2u(lo, max(lo, min_seg / block * block));
}
