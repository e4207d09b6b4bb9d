// Token log-probabilities and entropy of softmax(logits), and their gradient w.r.t. the logits.
// The logits of one chunk of positions and one block of the vocabulary, [rows, cols], come from
// src/kernels/logprobs.ts (matmul: h·Wᵀ/τ); position r of the chunk is n0 + r, block column j is
// vocab id v0 + j. A row spread over several vocab blocks is merged online (running max m, sum
// s = Σ exp(x − m), and t = Σ exp(x − m)·(x − m)), so no kernel ever needs a whole row of V
// (the (m, s) merge is Milakov & Gimelshein 2018, "Online normalizer calculation for softmax";
// t rescales the same way: t' = e^(m−m')·(t + (m − m')·s)).
// Per position: lse = m + log s, entropy = −Σ p log p = lse − E[x] = log s − t/s,
// logp = x[target] − lse. Target MASKED (0xFFFFFFFF) → logp 0 (entropy and lse still written);
// any other target ≥ V → logp NaN, so a bad id is loud.
//
// Bindings (`logprobs_forward`): 0 params; 1 logits [rows, cols] (read); 2 targets [N] u32;
//   3 state [N, 4] (m, s, t, target logit; carried between vocab blocks); 4 logp [N]; 5 entropy [N];
//   6 lse [N]. Params first = 1 on the first vocab block (state starts empty), last = 1 on the
//   last (outputs written). Grid: rows workgroups of WG (1-D count, folded by the host).
// Bindings (`logprobs_backward`): 0 params; 1 logits [rows, cols] (read_write: replaced by
//   d loss/d z, z = h·Wᵀ before the temperature); 2 targets [N]; 3 lse [N]; 4 entropy [N];
//   5 dlogp [N] (read when HAS_DLOGP); 6 dentropy [N] (read when HAS_DENT).
//   With p = exp(x − lse), x = z/τ (standard softmax calculus; checked by finite differences in
//   tests/kernels/logprobs.test.ts):
//     d logp/d x_j = 1[j = target] − p_j,   d entropy/d x_j = −p_j·(log p_j + entropy),
//     d/d z_j = (dlogp·(1[j = target] − p_j) − dentropy·p_j·(log p_j + entropy)) / τ.
//   Grid: rows · ceil(cols / BCOLS) workgroups of WG (1-D, folded); each handles BCOLS columns.
// Deterministic: each lane walks its columns in order; lanes merge in a fixed tree.

struct Params { rows: u32, cols: u32, v0: u32, V: u32, n0: u32, first: u32, last: u32, inv_tau: f32 }

const MASKED: u32 = 0xffffffffu;
// The running max of an empty set: finite, so that (empty max − m)·0 stays 0 (no inf·0 NaN).
const EMPTY_MAX: f32 = -3.0e38;
const BCOLS: u32 = 2048u;

override WG: u32 = 64u; // ≤ 256, a power of two
override HAS_DLOGP: bool = true;
override HAS_DENT: bool = true;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> state: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> logp_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> entropy_out: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse_out: array<f32>;
// Backward's bindings 3..6 (never used by the same entry point as the four above).
@group(0) @binding(3) var<storage, read> lse_in: array<f32>;
@group(0) @binding(4) var<storage, read> entropy_in: array<f32>;
@group(0) @binding(5) var<storage, read> dlogp: array<f32>;
@group(0) @binding(6) var<storage, read> dentropy: array<f32>;

var<workgroup> wm: array<f32, 256>;
var<workgroup> ws: array<f32, 256>;
var<workgroup> wt: array<f32, 256>;

// (m, s, t) of the union of two sets of logits.
fn merge(a: vec3f, b: vec3f) -> vec3f {
  let m = max(a.x, b.x);
  let da = a.x - m;
  let db = b.x - m;
  let ea = exp(da);
  let eb = exp(db);
  return vec3f(m, ea * a.y + eb * b.y, ea * (a.z + da * a.y) + eb * (b.z + db * b.y));
}

fn group_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
}

@compute @workgroup_size(WG)
fn logprobs_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = group_index(wid, nwg);
  // Rows past the end still reach the barriers (uniform control flow).
  var st = vec3f(EMPTY_MAX, 0.0, 0.0);
  if (r < p.rows) {
    let base = r * p.cols;
    for (var j = lid; j < p.cols; j += WG) {
      let x = logits[base + j];
      if (x <= st.x) {
        let e = exp(x - st.x);
        st.y += e;
        st.z += e * (x - st.x);
      } else {
        let d = st.x - x;
        let e = exp(d);
        st = vec3f(x, e * st.y + 1.0, e * (st.z + d * st.y));
      }
    }
  }
  wm[lid] = st.x;
  ws[lid] = st.y;
  wt[lid] = st.z;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let o = merge(vec3f(wm[lid], ws[lid], wt[lid]), vec3f(wm[lid + stride], ws[lid + stride], wt[lid + stride]));
      wm[lid] = o.x;
      ws[lid] = o.y;
      wt[lid] = o.z;
    }
    workgroupBarrier();
  }
  if (lid != 0u || r >= p.rows) { return; }

  let n = p.n0 + r;
  let tgt = targets[n];
  var all = vec3f(wm[0], ws[0], wt[0]);
  var tl = 0.0; // the target's logit, once its block has been seen
  if (p.first == 0u) {
    let prev = state[n];
    all = merge(vec3f(prev.x, prev.y, prev.z), all);
    tl = prev.w;
  }
  if (tgt >= p.v0 && tgt < p.v0 + p.cols) {
    tl = logits[r * p.cols + (tgt - p.v0)];
  }
  if (p.last == 0u) {
    state[n] = vec4f(all, tl);
    return;
  }
  let log_s = log(all.y);
  let lse = all.x + log_s;
  lse_out[n] = lse;
  entropy_out[n] = log_s - all.z / all.y;
  var lp = tl - lse;
  if (tgt == MASKED) {
    lp = 0.0;
  } else if (tgt >= p.V) {
    // NaN: a target outside the vocabulary. (`& 0u` keeps it a run-time value: WGSL rejects NaN
    // in constant expressions.)
    lp = bitcast<f32>(0x7fc00000u | (tgt & 0u));
  }
  logp_out[n] = lp;
}

@compute @workgroup_size(WG)
fn logprobs_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let tiles = (p.cols + BCOLS - 1u) / BCOLS;
  let g = group_index(wid, nwg);
  let r = g / tiles;
  if (r >= p.rows) { return; }
  let j0 = (g % tiles) * BCOLS;
  let j1 = min(j0 + BCOLS, p.cols);
  let n = p.n0 + r;
  let tgt = targets[n];
  let lse = lse_in[n];
  let ent = entropy_in[n];
  var dl = 0.0;
  if (HAS_DLOGP && tgt != MASKED) { dl = dlogp[n]; }
  var de = 0.0;
  if (HAS_DENT) { de = dentropy[n]; }
  let base = r * p.cols;
  for (var j = j0 + lid; j < j1; j += WG) {
    let lpj = logits[base + j] - lse;
    let pj = exp(lpj);
    var gj = -dl * pj - de * pj * (lpj + ent);
    if (p.v0 + j == tgt) { gj += dl; }
    logits[base + j] = gj * p.inv_tau;
  }
}
