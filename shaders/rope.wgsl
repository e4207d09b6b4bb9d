// Rotary position embedding, Hugging Face "rotate-half" convention (Qwen2's apply_rotary_pos_emb;
// Su et al. 2021, RoFormer), in place. For each head and i < D/2, with angle = pos · θ^(−2i/D):
//   x[i]       <- x[i]·cos − x[i + D/2]·sin
//   x[i + D/2] <- x[i + D/2]·cos + x[i]·sin
// The backward is the transpose: the same rotation with sin negated (sign = −1).
// Letters: rows = N (or B·T) tokens, T tokens per sequence, H heads, D head dim.
//
// Precise angles. In f32, pos · inv_freq at pos ~ 1e5 is off by ~7e-3 rad (24-bit mantissa), and
// sin/cos of large arguments are loosely specified. Instead the host gives each frequency as the
// number of turns per position, θ^(−2i/D) / 2π, in 64-bit fixed point (freq[i] = (hi, lo) words,
// value (hi·2^32 + lo) / 2^64). The position times it, mod 1 turn, is exact integer arithmetic on
// u32 words; its top 32 bits, read as a signed fraction of a turn in [−1/2, 1/2), give the angle
// in [−π, π), where cos and sin are accurate. Angle error: the int-to-float conversion, the
// scaling and the rounded constant 2π/2^32 add about 4e-7 rad in all; the frequency, rounded to
// float64 before the fixed point, adds pos · 2^−56 turns (1e-9 rad at 2^24, 2e-7 rad at 2^31).
// So below 1e-6 rad for any position below 2^31 (measured: 3.4e-7 at 1.6e7, 5.7e-7 at 2^31).
//
// Bindings: 0 params; 1 x [rows, H·D] (read_write, rotated in place); 2 positions u32 [rows]
//   (used with PER_TOKEN; else pos = offset + row mod T); 3 freq u32 [D/2, 2].
// Entries: rope_rotate (any even D); rope_rotate4 (D % 8 == 0: four frequencies per step, with
//   vec4 loads and stores through the x4 view; ~1.5x faster on lavapipe).
// Grid: LPR lanes per row, WG / LPR rows per workgroup (1-D count ceil(rows·LPR / WG), folded);
//   lane l of a row takes the frequencies i = l, l + LPR, ... < D/2, computes cos and sin once
//   and rotates that pair in every head. CPU adapters: WG = 16, LPR = 4 (measured on lavapipe:
//   1.1-1.3x a row per invocation); GPUs: WG = 64, LPR = 8 (rope_rotate4) or 32.

struct Params { rows: u32, T: u32, HD: u32, D: u32, offset: u32, sign: f32 }

override WG: u32 = 8u;
override LPR: u32 = 1u;
override PER_TOKEN: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> x4: array<vec4f>; // rope_rotate4's view of x
@group(0) @binding(2) var<storage, read> positions: array<u32>;
@group(0) @binding(3) var<storage, read> freq: array<u32>;

const TWO_PI_OVER_2_32: f32 = 1.4629180792671596e-9; // 2π / 2^32

// The high 32 bits of the 64-bit product a·b, from 16-bit halves.
fn mul_hi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = ((a0 * b0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

// pos · freq[i] in radians, reduced to [−π, π).
fn angle(pos: u32, i: u32) -> f32 {
  // Fractional turns: bits 32..63 of pos · (hi·2^32 + lo); the bits above 64 are whole turns.
  let turns = pos * freq[2u * i] + mul_hi(pos, freq[2u * i + 1u]);
  return f32(bitcast<i32>(turns)) * TWO_PI_OVER_2_32;
}

@compute @workgroup_size(WG)
fn rope_rotate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * (WG / LPR) + lid / LPR;
  if (row >= p.rows) { return; }
  var pos = p.offset + row % p.T;
  if (PER_TOKEN) { pos = positions[row]; }
  let half = p.D / 2u;
  let base = row * p.HD;
  for (var i = lid % LPR; i < half; i += LPR) {
    let a = angle(pos, i);
    let c = cos(a);
    let s = p.sign * sin(a);
    for (var h = base + i; h < base + p.HD; h += p.D) {
      let lo = x[h];
      let hi = x[h + half];
      x[h] = lo * c - hi * s;
      x[h + half] = hi * c + lo * s;
    }
  }
}

// rope_rotate on 4 frequencies at a time, with vec4 loads and stores: for D % 8 == 0 (x bound as
// vec4s; D/2 and every head's start are then multiples of 4).
@compute @workgroup_size(WG)
fn rope_rotate4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let row = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * (WG / LPR) + lid / LPR;
  if (row >= p.rows) { return; }
  var pos = p.offset + row % p.T;
  if (PER_TOKEN) { pos = positions[row]; }
  let half4 = p.D / 8u;
  let base4 = row * (p.HD / 4u);
  let end4 = base4 + p.HD / 4u;
  for (var i4 = lid % LPR; i4 < half4; i4 += LPR) {
    let i = 4u * i4;
    let a = vec4f(angle(pos, i), angle(pos, i + 1u), angle(pos, i + 2u), angle(pos, i + 3u));
    let c = cos(a);
    let s = p.sign * sin(a);
    for (var h = base4 + i4; h < end4; h += p.D / 4u) {
      let lo = x4[h];
      let hi = x4[h + half4];
      x4[h] = lo * c - hi * s;
      x4[h + half4] = hi * c + lo * s;
    }
  }
}
