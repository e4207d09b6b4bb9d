// Seeded PRNG (data generator, tests, host-side sampling): mulberry32 streams seeded through a splitmix32-style mixer.
// Same (seed, stream) → same numbers on every machine; Math.random is never used for data.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [lo, hi], both included. */
  range(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[];
}

/** splitmix32 finalizer: spreads nearby seeds (0, 1, 2, ...) over the whole 32-bit space. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** 32-bit FNV-1a of text, continuing from h (chain calls to hash a sequence): stable stream keys. */
export function fnv1a(text: string, h = 0x811c9dc5): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A generator for (seed, stream): record i of a file uses stream i, so it does not depend on --n. */
export function createRng(seed: number, stream = 0): Rng {
  let a = mix32(mix32(seed >>> 0) ^ Math.imul(stream + 1, 0x27d4eb2d));
  const next = (): number => {
    // mulberry32 (Tommy Ettinger): 32-bit state, passes PractRand to 2^32 outputs, plenty for one record.
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    pick: (items) => items[int(items.length)]!,
    shuffle: (items) => {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}

/** n floats uniform in [-scale, scale), seeded: inputs for kernel checks, tests and benchmarks. */
export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed, 3);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * scale;
  return out;
}
