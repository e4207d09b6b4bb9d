// Attention forward (FlashAttention-2 style) and the backward pass's first step. Spliced into
// shaders/attention_subgroup.wgsl and shaders/attention_plain.wgsl (which supply k8, v8, seg8).
//
// attention_forward: out = softmax(scale · q·kᵀ + mask) · v per (b, h), lse = log-sum-exp of the
//   masked scaled scores (natural log) per query. Bindings 1 q, 2 k, 3 v, 4 out, 5 lse, 11-13 masks.
//   Workgroup = 8 lanes; lane l owns queries q0 + l + 8r (r < R) of a tile of 8R queries and keeps
//   their output rows in registers; the tile walks its visible keys in blocks of 8·NB with a running
//   max and sum per query (online softmax: Milakov & Gimelshein 2018; Dao 2023, FlashAttention-2).
//   A query that sees no key (t >= seqLen, or an inconsistent segStart) gets out 0 and lse 0.
//   Grid: B·H·tiles workgroups (1-D, folded), head by head, within a head the last (heaviest,
//   causal) tiles first. Head-major order makes the workgroups that run at once read the same
//   head's keys and values (measured on lavapipe at T = 4096, H = 4: fwd+bwd 1.13x faster than
//   tile-major order).
// attention_backward_prep: stats[b, h, t] = (lse, delta), delta = sum_d dout·out (FlashAttention-2's
//   D_i). Bindings 4 out, 5 lse, 6 dout, 7 stats. Grid: ceil(B·H·T / 64) workgroups of 64.

// min over the tile's queries (t < seqLen) of segStart, for skip_range.
fn tile_min_seg(q0: u32) -> u32 {
  var lo = 0xffffffffu;
  for (var r = 0u; r < R; r++) {
    let s8 = seg8(q0 + 8u * r);
    for (var i = 0u; i < 8u; i++) {
      if (q0 + 8u * r + i < g_len) { lo = min(lo, s8[i]); }
    }
  }
  return lo;
}

@compute @workgroup_size(8)
fn attention_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lane: u32) {
  let idx = linear_id(wid, nwg);
  if (idx >= p.count) { return; }
  let bh = idx / p.tiles;
  let q0 = (p.tiles - 1u - idx % p.tiles) * 8u * R;
  begin(bh / p.H, bh % p.H, lane);
  let D4 = D / 4u;
  let KB = 8u * NB;

  var t: array<u32, 4>;      // this lane's queries
  var seg: array<u32, 4>;    // their segStart
  var m: array<f32, 4>;      // running max of the scaled scores
  var l: array<f32, 4>;      // running sum of exp(score - m)
  var acc: array<vec4f, 64>; // acc[r * D4 + c] = sum_j exp(s_j - m) · v[j, 4c .. 4c+3]
  var s: array<f32, 64>;     // s[r * KB + j]: scores of the key block, then exp(s - m)
  var qv: array<vec4f, 4>;
  var a: vec4f;
  var mx: f32;
  var sum: f32;
  for (var r = 0u; r < R; r++) {
    t[r] = q0 + lane + 8u * r;
    seg[r] = seg_of(t[r]);
    m[r] = NEG;
    l[r] = 0.0;
    for (var c = 0u; c < D4; c++) { acc[r * D4 + c] = vec4f(0.0); }
  }
  var skip = vec2u(0u);
  if ((p.masks & HAS_SEG) != 0u) { skip = skip_range(tile_min_seg(q0), KB); }
  let kend = min(q0 + 8u * R, g_len); // causal: no key after the tile's last query

  var j0 = 0u;
  loop {
    if (j0 == skip.x) { j0 = skip.y; }
    if (j0 >= kend) { break; }
    for (var i = 0u; i < R * KB; i++) { s[i] = 0.0; }
    for (var c = 0u; c < D4; c++) {
      for (var r = 0u; r < R; r++) { qv[r] = q[qrow(t[r]) + c]; }
      for (var n = 0u; n < NB; n++) {
        let kb = k8(j0 + 8u * n, c);
        for (var r = 0u; r < R; r++) {
          for (var j = 0u; j < 8u; j++) { s[r * KB + 8u * n + j] += dot(qv[r], kb[j]); }
        }
      }
    }
    for (var r = 0u; r < R; r++) {
      mx = m[r];
      for (var j = 0u; j < KB; j++) {
        let x = select(NEG, s[r * KB + j] * p.scale, visible(t[r], j0 + j, seg[r]));
        s[r * KB + j] = x;
        mx = max(mx, x);
      }
      let alpha = exp(m[r] - mx);
      m[r] = mx;
      sum = 0.0;
      for (var j = 0u; j < KB; j++) {
        let x = s[r * KB + j];
        let e = select(0.0, exp(x - mx), x != NEG);
        s[r * KB + j] = e;
        sum += e;
      }
      l[r] = l[r] * alpha + sum;
      for (var c = 0u; c < D4; c++) { acc[r * D4 + c] *= alpha; }
    }
    for (var c = 0u; c < D4; c++) {
      for (var n = 0u; n < NB; n++) {
        let vb = v8(j0 + 8u * n, c);
        for (var r = 0u; r < R; r++) {
          a = acc[r * D4 + c];
          for (var j = 0u; j < 8u; j++) { a = fma(vec4f(s[r * KB + 8u * n + j]), vb[j], a); }
          acc[r * D4 + c] = a;
        }
      }
    }
    j0 += KB;
  }

  for (var r = 0u; r < R; r++) {
    if (t[r] >= p.T) { break; }
    let seen = l[r] > 0.0;
    let inv = select(0.0, 1.0 / l[r], seen);
    let row = qrow(t[r]);
    for (var c = 0u; c < D4; c++) { out[row + c] = acc[r * D4 + c] * inv; }
    lse[stat_index(t[r])] = select(0.0, m[r] + log(l[r]), seen);
  }
}

@compute @workgroup_size(64)
fn attention_backward_prep(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                           @builtin(local_invocation_index) li: u32) {
  let i = linear_id(wid, nwg) * 64u + li; // = (b * H + h) * T + t
  if (i >= p.B * p.H * p.T) { return; }
  let bh = i / p.T;
  g_b = bh / p.H;
  g_h = bh % p.H;
  let row = qrow(i % p.T);
  var acc = vec4f(0.0);
  for (var c = 0u; c < D / 4u; c++) { acc = fma(dout[row + c], out[row + c], acc); }
  stats[i] = vec2f(lse[i], acc.x + acc.y + acc.z + acc.w);
}
