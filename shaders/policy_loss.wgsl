// Token-level clipped policy loss of DAPO/GRPO (design §5; verl's compute_policy_loss with
// loss_agg_mode "token-mean", and its kl_penalty "low_var_kl"), its gradient w.r.t. logp and
// entropy, and per-token statistics for the metrics line. Per response token t, with weight w_t
// (0 on prompt and padding tokens) and the mini-batch's token count `denom` passed in:
//   Δ = clamp(logp − logp_old, −20, 20) (verl clamps the log-ratio), ratio = exp(Δ),
//   l_t = max(−A·ratio, −A·clamp(ratio, 1 − clip_low, 1 + clip_high)),
//   x = clamp(ref − logp, −10, 10), k3 = clamp(e^x − x − 1, −10, 10),
//   loss = Σ w·l / denom − entropy_coef·Σ w·entropy / denom + kl_coef·Σ w·k3 / denom.
// Gradient: the branch that is active. The clip branch is active when −A·clip(ratio) > −A·ratio
// strictly (verl's pg_clipfrac); then clip(ratio) ≠ ratio, so it is constant and d l/d logp = 0.
// At a tie the unclipped branch is taken: d l/d logp = −A·ratio (torch splits ties evenly between
// two equal gradients, the same value). A clamp that is active (|logp − logp_old| > 20, |ref − logp|
// > 10, k3 > 10; strictly) passes no gradient, as torch.clamp. d k3/d logp = 1 − e^x.
//   dlogp = w/denom·(d l/d logp + kl_coef·d k3/d logp),  dentropy = −entropy_coef·w/denom.
// k3 and 1 − e^x use Taylor series for |x| < 1/4 (no cancellation in f32 near x = 0).
// Every output is exactly 0 where w = 0, whatever the inputs there (NaN included).
//
// Bindings (`policy_loss`): 0 params; 1 logp [N]; 2 logp_old [N]; 3 adv [N]; 4 weight [N];
//   5 ref_logp [N] (read when HAS_REF); 6 entropy [N] (read when HAS_ENT); 7 dlogp [N] (write);
//   8 dentropy [N] (write); 9 stats [6, N] (write), each row weighted by w:
//   row 0 w·l, 1 w·clipped (0/1), 2 w·(logp_old − logp) (verl's ppo_kl, from the clamped Δ),
//   3 w·k3 (0 without HAS_REF), 4 w·entropy (0 without HAS_ENT), 5 w.
// Grid: one workgroup of WG lanes per CHUNK tokens (1-D count ceil(N / CHUNK), folded); lane l
//   takes tokens l, l + WG, ... of its chunk. WG: 8 on CPU adapters, 64 on GPUs.

struct Params { n: u32, clip_low: f32, clip_high: f32, entropy_coef: f32, kl_coef: f32, inv_denom: f32 }

override WG: u32 = 8u;
override HAS_REF: bool = false;
override HAS_ENT: bool = false;
const CHUNK: u32 = 1024u;
const RATIO_CLAMP: f32 = 20.0;
const KL_CLAMP: f32 = 10.0;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logp: array<f32>;
@group(0) @binding(2) var<storage, read> logp_old: array<f32>;
@group(0) @binding(3) var<storage, read> adv: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> ref_logp: array<f32>;
@group(0) @binding(6) var<storage, read> entropy: array<f32>;
@group(0) @binding(7) var<storage, read_write> dlogp: array<f32>;
@group(0) @binding(8) var<storage, read_write> dentropy: array<f32>;
@group(0) @binding(9) var<storage, read_write> stats: array<f32>;

// e^x − 1 without cancellation near 0.
fn expm1(x: f32) -> f32 {
  if (abs(x) < 0.25) {
    return x * (1.0 + x * (1.0 / 2.0 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 + x / 5040.0))))));
  }
  return exp(x) - 1.0;
}

// e^x − x − 1 without cancellation near 0.
fn k3_of(x: f32) -> f32 {
  if (abs(x) < 0.25) {
    return x * x * (1.0 / 2.0 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 + x / 5040.0)))));
  }
  return exp(x) - x - 1.0;
}

@compute @workgroup_size(WG)
fn policy_loss(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let start = (wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y) * CHUNK;
  let end = min(start + CHUNK, p.n);
  for (var i = start + lid; i < end; i += WG) {
    let w = weight[i];
    let a = adv[i];
    let raw = logp[i] - logp_old[i];
    let delta = clamp(raw, -RATIO_CLAMP, RATIO_CLAMP);
    let ratio = exp(delta);
    let unclipped = -a * ratio;
    let clipped_loss = -a * clamp(ratio, 1.0 - p.clip_low, 1.0 + p.clip_high);
    let clipped = clipped_loss > unclipped;
    let l = select(unclipped, clipped_loss, clipped);
    var g = select(-a * ratio, 0.0, clipped || abs(raw) > RATIO_CLAMP);
    var k3 = 0.0;
    if (HAS_REF) {
      let xr = ref_logp[i] - logp[i];
      let x = clamp(xr, -KL_CLAMP, KL_CLAMP);
      let k = k3_of(x);
      k3 = clamp(k, -KL_CLAMP, KL_CLAMP);
      let dk = select(-expm1(x), 0.0, abs(xr) > KL_CLAMP || abs(k) > KL_CLAMP);
      g += p.kl_coef * dk;
    }
    var ent = 0.0;
    if (HAS_ENT) { ent = entropy[i]; }
    let on = w != 0.0;
    let scale = w * p.inv_denom;
    dlogp[i] = select(0.0, scale * g, on);
    dentropy[i] = select(0.0, -p.entropy_coef * scale, on);
    stats[i] = select(0.0, w * l, on);
    stats[p.n + i] = select(0.0, w, on && clipped);
    stats[2u * p.n + i] = select(0.0, -w * delta, on);
    stats[3u * p.n + i] = select(0.0, w * k3, on);
    stats[4u * p.n + i] = select(0.0, w * ent, on);
    stats[5u * p.n + i] = w;
  }
}
