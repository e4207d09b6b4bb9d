// Next-token sampling from logits [B, V], one workgroup per row: temperature τ, then top-k, then
// top-p on the renormalized top-k distribution (Hugging Face's warper order), then one draw
// from a counter-based generator keyed by (seed, step, row0 + row_ids[row]). τ = 0: greedy argmax, ties to
// the lowest id.
// Sets without a sort: the kept set is {j : key(x_j) ≥ K}, key = the f32's bits mapped to an
// order-preserving u32. Top-k: K = the largest key with count(key ≥ K) ≥ k (the k-th largest
// logit; ties at the boundary stay, as in HF's TopKLogitsWarper). Top-p: K = the largest key with
// mass(key ≥ K) ≥ top_p · (top-k mass), mass in e_j = exp((x_j − max)/τ) (the smallest nucleus
// by value; ties at the boundary stay). Both by bisection on the key (`bisect`): each step is
// one count or mass pass over the row and a fixed-order reduction, so the result is exact and
// deterministic; ~25 passes for V = 152k, a few for tiny vocabularies.
// Draw: lanes own contiguous id ranges; with Z = the kept mass summed in id order and u uniform
// in [0, 1), the sample is the first kept id whose running sum exceeds u·Z (inverse-CDF sampling
// of the kept, renormalized probabilities, in id order).
// Outputs: ids [B]; logp_sample = log q(id), q the distribution actually sampled (after top-k/top-p
// renormalization; 0 when greedy); logp_policy = log softmax(x/τ)[id] (τ = 1 when greedy).
// Bindings: 0 params; 1 logits [B, V] (read); 2 ids [B] u32; 3 logp_sample [B]; 4 logp_policy [B].
// Grid: B workgroups of WG (1-D count, folded by the host).
// Generator: lowbias32 (C. Wellons, hash-prospector) chained over the key words; the float64
// twin (src/ref/sampling.ts) computes the same bits.

struct Params { B: u32, V: u32, top_k: u32, seed: u32, step: u32, row0: u32, temperature: f32, top_p: f32 }

const EMPTY_MAX: f32 = -3.0e38;
const NO_ID: u32 = 0xffffffffu;

override WG: u32 = 64u; // ≤ 256, a power of two

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> logp_sample: array<f32>;
@group(0) @binding(4) var<storage, read_write> logp_policy: array<f32>;
@group(0) @binding(5) var<storage, read> row_ids: array<u32>; // each row's generator row: a caller that drops rows keeps their draws

var<workgroup> red_f: array<f32, 256>;
var<workgroup> red_u: array<u32, 256>;
var<workgroup> red_a: array<u32, 256>;
var<workgroup> red_d: array<u32, 256>;
var<workgroup> stop: u32;
var<workgroup> pick_lane: u32;
var<workgroup> pick_prefix: f32;
var<workgroup> pick_total: f32;

fn lowbias32(x: u32) -> u32 {
  var z = x;
  z ^= z >> 16u;
  z *= 0x7feb352du;
  z ^= z >> 15u;
  z *= 0x846ca68bu;
  z ^= z >> 16u;
  return z;
}

// Uniform in [0, 1) with 24 bits, from (seed, step, row, column).
fn uniform01(seed: u32, step: u32, row: u32, col: u32) -> f32 {
  var h = lowbias32(seed + 0x9e3779b9u);
  h = lowbias32(h ^ (step + 0x9e3779b9u));
  h = lowbias32(h ^ (row + 0x9e3779b9u));
  h = lowbias32(h ^ (col + 0x9e3779b9u));
  return f32(h >> 8u) * (1.0 / 16777216.0);
}

// Order-preserving map of f32 to u32 (−0 counts as +0).
fn key(x: f32) -> u32 {
  var b = bitcast<u32>(x);
  if (b == 0x80000000u) { b = 0u; }
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

// Fixed-order tree sum over the workgroup; every lane gets the total.
fn sum_f(lid: u32, v: f32) -> f32 {
  red_f[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_f[lid] += red_f[lid + s]; }
    workgroupBarrier();
  }
  let total = red_f[0];
  workgroupBarrier();
  return total;
}

// The largest data key K in [lo, hi) with weight(key ≥ K) ≥ need, where weight is the count
// (MASS = false) or the mass Σ exp((x − mx)·inv) (MASS = true). Needs weight(≥ lo) ≥ need and
// weight(≥ hi) < need. Bisection on the key, snapped to data keys after each pass (lo to the
// smallest key ≥ mid, hi to one past the largest key < mid), stopping when no key lies strictly
// between lo and hi: at most 33 passes, a handful on small vocabularies.
fn bisect(lid: u32, base: u32, lo0: u32, hi0: u32, use_mass: bool, need: f32, mx: f32, inv: f32) -> u32 {
  var lo = lo0;
  var hi = hi0;
  for (var it = 0u; it < 34u; it++) {
    let mid = lo + (hi - lo) / 2u;
    var w = 0.0; // weight of key ≥ mid
    var a = 0xffffffffu; // smallest key ≥ mid
    var d = mid - 1u; // largest key < mid (mid − 1 when there is none: hi unchanged)
    var inside = 0u; // keys strictly between lo and hi
    for (var j = lid; j < p.V; j += WG) {
      let x = logits[base + j];
      let k = key(x);
      if (k >= mid) {
        w += select(1.0, exp((x - mx) * inv), use_mass);
        a = min(a, k);
      } else {
        d = max(d, k);
      }
      inside += select(0u, 1u, k > lo && k < hi);
    }
    red_f[lid] = w;
    red_u[lid] = inside;
    red_a[lid] = a;
    red_d[lid] = d;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid < s) {
        red_f[lid] += red_f[lid + s];
        red_u[lid] += red_u[lid + s];
        red_a[lid] = min(red_a[lid], red_a[lid + s]);
        red_d[lid] = max(red_d[lid], red_d[lid + s]);
      }
      workgroupBarrier();
    }
    if (lid == 0u) { stop = select(0u, 1u, red_u[0] == 0u); }
    let wsum = red_f[0];
    let amin = red_a[0];
    let dmax = red_d[0];
    if (workgroupUniformLoad(&stop) != 0u) { break; } // (a barrier: red_* free again)
    if (wsum >= need) { lo = amin; } else { hi = dmax + 1u; }
  }
  return lo;
}

@compute @workgroup_size(WG)
fn sample_tokens(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y;
  if (r >= p.B) { return; } // uniform: the whole workgroup leaves
  let V = p.V;
  let base = r * V;

  // Max and argmax (first occurrence per lane, then the lower id on ties).
  var best = EMPTY_MAX;
  var best_id = NO_ID;
  for (var j = lid; j < V; j += WG) {
    let x = logits[base + j];
    if (x > best) { best = x; best_id = j; }
  }
  red_f[lid] = best;
  red_u[lid] = best_id;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let b = red_f[lid + s];
      let bi = red_u[lid + s];
      if (b > red_f[lid] || (b == red_f[lid] && bi < red_u[lid])) { red_f[lid] = b; red_u[lid] = bi; }
    }
    workgroupBarrier();
  }
  let mx = red_f[0];
  let argmax = red_u[0];
  workgroupBarrier();

  if (p.temperature <= 0.0) {
    var s1 = 0.0;
    for (var j = lid; j < V; j += WG) { s1 += exp(logits[base + j] - mx); }
    let z1 = sum_f(lid, s1);
    if (lid == 0u) {
      ids[r] = argmax;
      logp_sample[r] = 0.0;
      logp_policy[r] = -log(z1);
    }
    return;
  }

  let inv = 1.0 / p.temperature;
  var part = 0.0;
  for (var j = lid; j < V; j += WG) { part += exp((logits[base + j] - mx) * inv); }
  let z_all = sum_f(lid, part);

  var kmin = 0u; // kept: key(x) >= kmin
  var z_kept = z_all;
  if (p.top_k > 0u && p.top_k < V) {
    kmin = bisect(lid, base, 0u, key(mx) + 1u, false, f32(p.top_k), mx, inv);
    part = 0.0;
    for (var j = lid; j < V; j += WG) {
      let x = logits[base + j];
      if (key(x) >= kmin) { part += exp((x - mx) * inv); }
    }
    z_kept = sum_f(lid, part);
  }
  if (p.top_p < 1.0) {
    kmin = bisect(lid, base, kmin, key(mx) + 1u, true, p.top_p * z_kept, mx, inv);
  }

  // The draw: per-lane sums over contiguous id ranges, a serial prefix over lanes, then the
  // chosen lane walks its range.
  let span = (V + WG - 1u) / WG;
  let j0 = min(lid * span, V);
  let j1 = min(j0 + span, V);
  part = 0.0;
  for (var j = j0; j < j1; j++) {
    let x = logits[base + j];
    if (key(x) >= kmin) { part += exp((x - mx) * inv); }
  }
  red_f[lid] = part;
  workgroupBarrier();
  let u = uniform01(p.seed, p.step, p.row0 + row_ids[r], 0u);
  if (lid == 0u) {
    var total = 0.0;
    for (var l = 0u; l < WG; l++) { total += red_f[l]; }
    let threshold = u * total;
    var acc = 0.0;
    var lane = 0u;
    var prefix = 0.0;
    for (var l = 0u; l < WG; l++) {
      if (red_f[l] > 0.0) {
        // Fallback when rounding leaves threshold ≥ every running sum: the last kept lane.
        lane = l;
        prefix = acc;
        if (acc + red_f[l] > threshold) { break; }
      }
      acc += red_f[l];
    }
    pick_lane = lane;
    pick_prefix = prefix;
    pick_total = total;
  }
  workgroupBarrier();
  if (lid == pick_lane) {
    let threshold = u * pick_total;
    var acc = pick_prefix;
    var pick = NO_ID;
    for (var j = j0; j < j1; j++) {
      let x = logits[base + j];
      if (key(x) >= kmin) {
        let e = exp((x - mx) * inv);
        if (e > 0.0) {
          pick = j;
          acc += e;
          if (acc > threshold) { break; }
        }
      }
    }
    let lx = (logits[base + pick] - mx) * inv;
    ids[r] = pick;
    logp_sample[r] = lx - log(pick_total);
    logp_policy[r] = lx - log(z_all);
  }
}
