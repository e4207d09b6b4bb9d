// Attention backward (FlashAttention-2's algorithm without atomics), two passes that each
// recompute the probabilities tile by tile from the saved lse: p = exp(scale·q·k - lse),
// ds = p·(dout·v - delta). Spliced into shaders/attention_subgroup.wgsl and attention_plain.wgsl.
// Run attention_backward_prep first (stats = (lse, delta) per query).
//
// attention_backward_dkdv: dk[j] = scale · sum_{h in group, i} ds_ij q_i, dv[j] = sum p_ij dout_i.
//   Workgroup = 8 lanes per (b, kv head, tile of 8R keys); lane l owns keys k0 + l + 8r and keeps
//   their dk, dv rows in registers; the tile walks the query heads of its group in order, and for
//   each the queries i >= k0 in blocks of 8·NB shared through q8/do8 (a fixed order: deterministic).
//   Bindings 1 q, 2 k, 3 v, 6 dout, 7 stats, 9 dk, 10 dv, 11-13 masks.
//   Grid: B·Hkv·tiles workgroups, head by head (as the forward), the first (heaviest) tiles first.
// attention_backward_dq: dq[i] = scale · sum_j ds_ij k_j. Lanes own queries as in the forward pass
//   and walk the same key blocks. Bindings 1 q, 2 k, 3 v, 6 dout, 7 stats, 8 dq, 11-13 masks.
//   Grid: B·H·tiles workgroups, in the forward's order.

@compute @workgroup_size(8)
fn attention_backward_dkdv(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                           @builtin(local_invocation_index) lane: u32) {
  let idx = linear_id(wid, nwg);
  if (idx >= p.count) { return; }
  let bh = idx / p.tiles;
  let k0 = (idx % p.tiles) * 8u * R;
  let G = p.H / p.Hkv;
  begin(bh / p.Hkv, (bh % p.Hkv) * G, lane);
  let D4 = D / 4u;
  let QB = 8u * NB;
  let kmax = k0 + 8u * R - 1u; // the tile's last key

  var j: array<u32, 4>;     // this lane's keys
  var gk: array<vec4f, 64>; // gk[r * D4 + c]: dk / scale of key j[r], columns 4c .. 4c+3
  var gv: array<vec4f, 64>; // gv[r * D4 + c]: dv
  var segs: array<u32, 32>; // segStart of the block's queries i0 .. i0 + QB - 1
  var s: array<f32, 64>;    // s[r * QB + i]: scores, then p
  var dp: array<f32, 64>;   // dp[r * QB + i]: dout_i · v_j, then ds
  var kc: array<vec4f, 4>;
  var vc: array<vec4f, 4>;
  var a: vec4f;
  var e: vec4f;
  var seen: bool;
  for (var r = 0u; r < R; r++) {
    j[r] = k0 + lane + 8u * r;
    for (var c = 0u; c < D4; c++) {
      gk[r * D4 + c] = vec4f(0.0);
      gv[r * D4 + c] = vec4f(0.0);
    }
  }
  for (var g = 0u; g < G; g++) {
    g_h = g_hk * G + g;
    for (var i0 = k0 / QB * QB; i0 < g_len; i0 += QB) {
      for (var i = 0u; i < QB; i++) { segs[i] = 0u; }
      if ((p.masks & HAS_SEG) != 0u) {
        // Skip the block unless one of its queries sees one of the tile's keys.
        seen = false;
        for (var n = 0u; n < NB; n++) {
          let s8 = seg8(i0 + 8u * n);
          for (var i = 0u; i < 8u; i++) {
            let qi = i0 + 8u * n + i;
            segs[8u * n + i] = s8[i];
            seen = seen || (qi < g_len && ((k0 < g_prefix && k0 <= qi) || max(k0, s8[i]) <= min(qi, kmax)));
          }
        }
        if (!seen) { continue; }
      }
      for (var i = 0u; i < R * QB; i++) {
        s[i] = 0.0;
        dp[i] = 0.0;
      }
      for (var c = 0u; c < D4; c++) {
        for (var r = 0u; r < R; r++) {
          kc[r] = k[krow(j[r]) + c];
          vc[r] = v[krow(j[r]) + c];
        }
        for (var n = 0u; n < NB; n++) {
          let qb = q8(i0 + 8u * n, c);
          let ob = do8(i0 + 8u * n, c);
          for (var r = 0u; r < R; r++) {
            for (var i = 0u; i < 8u; i++) {
              s[r * QB + 8u * n + i] += dot(kc[r], qb[i]);
              dp[r * QB + 8u * n + i] += dot(vc[r], ob[i]);
            }
          }
        }
      }
      for (var n = 0u; n < NB; n++) {
        let st = stats8(i0 + 8u * n);
        for (var r = 0u; r < R; r++) {
          for (var i = 0u; i < 8u; i++) {
            let x = r * QB + 8u * n + i;
            let pr = select(0.0, exp(s[x] * p.scale - st[i].x), visible(i0 + 8u * n + i, j[r], segs[8u * n + i]));
            s[x] = pr;
            dp[x] = pr * (dp[x] - st[i].y);
          }
        }
      }
      for (var c = 0u; c < D4; c++) {
        for (var n = 0u; n < NB; n++) {
          let qb = q8(i0 + 8u * n, c);
          let ob = do8(i0 + 8u * n, c);
          for (var r = 0u; r < R; r++) {
            a = gv[r * D4 + c];
            e = gk[r * D4 + c];
            for (var i = 0u; i < 8u; i++) {
              a = fma(vec4f(s[r * QB + 8u * n + i]), ob[i], a);
              e = fma(vec4f(dp[r * QB + 8u * n + i]), qb[i], e);
            }
            gv[r * D4 + c] = a;
            gk[r * D4 + c] = e;
          }
        }
      }
    }
  }
  for (var r = 0u; r < R; r++) {
    if (j[r] >= p.T) { break; }
    let row = krow(j[r]);
    for (var c = 0u; c < D4; c++) {
      dk[row + c] = gk[r * D4 + c] * p.scale;
      dv[row + c] = gv[r * D4 + c];
    }
  }
}

@compute @workgroup_size(8)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) lane: u32) {
  let idx = linear_id(wid, nwg);
  if (idx >= p.count) { return; }
  let bh = idx / p.tiles;
  let q0 = (p.tiles - 1u - idx % p.tiles) * 8u * R;
  begin(bh / p.H, bh % p.H, lane);
  let D4 = D / 4u;
  let KB = 8u * NB;

  var t: array<u32, 4>;      // this lane's queries
  var seg: array<u32, 4>;
  var st: array<vec2f, 4>;   // (lse, delta)
  var acc: array<vec4f, 64>; // acc[r * D4 + c]: dq / scale of query t[r]
  var s: array<f32, 64>;     // s[r * KB + j]: scores, then ds
  var dp: array<f32, 64>;    // dout_i · v_j
  var qv: array<vec4f, 4>;
  var ov: array<vec4f, 4>;
  var a: vec4f;
  for (var r = 0u; r < R; r++) {
    t[r] = q0 + lane + 8u * r;
    seg[r] = seg_of(t[r]);
    st[r] = stats[stat_index(t[r])];
    for (var c = 0u; c < D4; c++) { acc[r * D4 + c] = vec4f(0.0); }
  }
  var skip = vec2u(0u);
  if ((p.masks & HAS_SEG) != 0u) { skip = skip_range(tile_min_seg(q0), KB); }
  let kend = min(q0 + 8u * R, g_len);

  var j0 = 0u;
  loop {
    if (j0 == skip.x) { j0 = skip.y; }
    if (j0 >= kend) { break; }
    for (var i = 0u; i < R * KB; i++) {
      s[i] = 0.0;
      dp[i] = 0.0;
    }
    for (var c = 0u; c < D4; c++) {
      for (var r = 0u; r < R; r++) {
        qv[r] = q[qrow(t[r]) + c];
        ov[r] = dout[qrow(t[r]) + c];
      }
      for (var n = 0u; n < NB; n++) {
        let kb = k8(j0 + 8u * n, c);
        let vb = v8(j0 + 8u * n, c);
        for (var r = 0u; r < R; r++) {
          for (var j = 0u; j < 8u; j++) {
            s[r * KB + 8u * n + j] += dot(qv[r], kb[j]);
            dp[r * KB + 8u * n + j] += dot(ov[r], vb[j]);
          }
        }
      }
    }
    for (var r = 0u; r < R; r++) {
      for (var j = 0u; j < KB; j++) {
        let x = r * KB + j;
        let pr = exp(s[x] * p.scale - st[r].x);
        s[x] = select(0.0, pr * (dp[x] - st[r].y), visible(t[r], j0 + j, seg[r]));
      }
    }
    for (var c = 0u; c < D4; c++) {
      for (var n = 0u; n < NB; n++) {
        let kb = k8(j0 + 8u * n, c);
        for (var r = 0u; r < R; r++) {
          a = acc[r * D4 + c];
          for (var j = 0u; j < 8u; j++) { a = fma(vec4f(s[r * KB + 8u * n + j]), kb[j], a); }
          acc[r * D4 + c] = a;
        }
      }
    }
    j0 += KB;
  }
  for (var r = 0u; r < R; r++) {
    if (t[r] >= p.T) { break; }
    let row = qrow(t[r]);
    for (var c = 0u; c < D4; c++) { dq[row + c] = acc[r * D4 + c] * p.scale; }
  }
}
