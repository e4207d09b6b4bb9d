// Float64 twin of src/kernels/sampling.ts (same argument order), for tests and `longrl bench`:
// the same generator bits, the same kept sets (by sorting instead of bisection) and the same
// inverse-CDF draw in id order. The GPU sums in f32, so when u·Z (or top_p·mass) falls within
// rounding of a boundary the two may pick neighbours; such rows are flagged `nearTie`.
import type { SamplingOptions } from "../kernels/sampling.ts";

/** The kernel's options (src/kernels/sampling.ts), same meaning and defaults. */
export type SamplingRefOptions = SamplingOptions;

/** Relative distance to a boundary under which the f32 kernel may decide differently. */
const TIE = 3e-6;

/** lowbias32 (C. Wellons, hash-prospector): a 32-bit integer hash with low bias. */
export function lowbias32(x: number): number {
  let z = x >>> 0;
  z ^= z >>> 16;
  z = Math.imul(z, 0x7feb352d) >>> 0;
  z ^= z >>> 15;
  z = Math.imul(z, 0x846ca68b) >>> 0;
  z ^= z >>> 16;
  return z >>> 0;
}

/** Uniform in [0, 1) (24 bits) keyed by (seed, step, row, column), as uniform01 in the shader. */
export function samplingUniformRef(seed: number, step: number, row: number, col = 0): number {
  const g = 0x9e3779b9;
  let h = lowbias32((seed + g) >>> 0);
  h = lowbias32(h ^ ((step + g) >>> 0));
  h = lowbias32(h ^ ((row + g) >>> 0));
  h = lowbias32(h ^ ((col + g) >>> 0));
  return (h >>> 8) / 16777216;
}

export interface SamplingRefResult {
  ids: Uint32Array;
  logpSample: Float64Array;
  logpPolicy: Float64Array;
  /** The draw or the nucleus boundary lies within f32 rounding: the kernel may differ here. */
  nearTie: boolean[];
}

/** Samples one id per row of logits [B, V] (flat). */
export function sampleTokensRef(logits: ArrayLike<number>, B: number, V: number, opts: SamplingRefOptions = {}): SamplingRefResult {
  const tau = Math.fround(opts.temperature ?? 1);
  const topK = opts.topK ?? 0;
  const topP = Math.fround(opts.topP ?? 1); // the kernel receives it as f32
  const ids = new Uint32Array(B);
  const logpSample = new Float64Array(B);
  const logpPolicy = new Float64Array(B);
  const nearTie: boolean[] = [];
  for (let b = 0; b < B; b++) {
    const x = Array.from({ length: V }, (_, j) => Number(logits[b * V + j]) + 0); // + 0: −0 → +0
    let mx = -Infinity;
    let argmax = 0;
    for (let j = 0; j < V; j++) if (x[j]! > mx) [mx, argmax] = [x[j]!, j];
    if (tau <= 0) {
      let s = 0;
      for (const v of x) s += Math.exp(v - mx);
      ids[b] = argmax;
      logpSample[b] = 0;
      logpPolicy[b] = -Math.log(s);
      nearTie.push(false);
      continue;
    }
    const inv = Math.fround(1 / tau); // as the kernel: x·(1/τ) with 1/τ in f32
    const e = x.map((v) => Math.exp((v - mx) * inv));
    const zAll = e.reduce((s, v) => s + v, 0);
    // Kept: x ≥ cut. Top-k: the k-th largest value. Top-p: over the top-k set, the value at
    // which the mass of {x ≥ value}, groups of equal values together, first reaches top_p.
    const desc = x.map((v, j) => ({ v, e: e[j]! })).sort((p, q) => q.v - p.v);
    let cut = -Infinity;
    if (topK > 0 && topK < V) cut = desc[topK - 1]!.v;
    let tie = false;
    if (topP < 1) {
      const kept = desc.filter((d) => d.v >= cut);
      const zk = kept.reduce((s, d) => s + d.e, 0);
      const need = topP * zk;
      let cum = 0;
      for (let i = 0; i < kept.length; ) {
        const before = cum;
        let k = i;
        while (k < kept.length && kept[k]!.v === kept[i]!.v) cum += kept[k++]!.e;
        if (cum >= need || k === kept.length) {
          tie = cum - need < TIE * zk || need - before < TIE * zk;
          cut = kept[i]!.v;
          break;
        }
        i = k;
      }
    }
    let z = 0;
    for (let j = 0; j < V; j++) if (x[j]! >= cut) z += e[j]!;
    const threshold = samplingUniformRef(opts.seed ?? 0, opts.step ?? 0, (opts.rowOffset ?? 0) + b) * z;
    let cum = 0;
    let pick = -1;
    for (let j = 0; j < V; j++) {
      if (x[j]! < cut || e[j]! === 0) continue;
      const before = cum;
      cum += e[j]!;
      pick = j;
      if (cum > threshold) {
        tie ||= cum - threshold < TIE * z || threshold - before < TIE * z;
        break;
      }
    }
    ids[b] = pick;
    logpSample[b] = Math.log(e[pick]! / z);
    logpPolicy[b] = Math.log(e[pick]! / zAll);
    nearTie.push(tie);
  }
  return { ids, logpSample, logpPolicy, nearTie };
}
