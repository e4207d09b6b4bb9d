// Batch packing for training and scoring: each row holds one prompt and its responses as one
// shared-prefix row (the GRPO group layout), padded to the longest row. Host arrays only; the
// forward pass uploads them (forward.ts). A plain sequence is a group of one response.
//
// Layout of a row for prompt p (P tokens) and responses r_1..r_G:
//   [p_0 .. p_{P-2}] [p_{P-1} r_1,0 .. r_1,n1-2] ... [p_{P-1} r_G,0 .. r_G,nG-2]
//   prefix (shared)   segment 1                     segment G
// Segment g repeats the prompt's last token and holds all of r_g but its last token, so its n_g
// positions predict exactly r_g,0 .. r_g,n_g-1: every scored position's target is the next token
// of its own segment. Prefix positions are computed once per group, forward and backward; each
// segment sees the prefix and itself (attention's segStart/prefixLen mask), and its positions
// continue from P-1, so every scored log-prob equals that of the full sequence p + r_g.
// Letters: B rows, T tokens per row (padded), N = B·T, M scored positions.
import { runError } from "../util/errors.ts";

export interface GroupSpec {
  /** Prompt token ids (at least one). */
  prompt: readonly number[];
  /** Response token ids, each scored in full (log p(r_j | p, r_<j) for every j). */
  responses: readonly (readonly number[])[];
}

/** Where a response's scored positions sit in the batch's flat list of M. */
export interface ResponseSpan {
  group: number;
  response: number;
  /** Index of the response's first scored position in `scoredRows` / `targets`. */
  start: number;
  count: number;
}

export interface PackedBatch {
  B: number;
  T: number;
  /** Token ids [B, T]; padding holds 0. */
  ids: Uint32Array;
  /** Position of each token for RoPE [B, T]. */
  positions: Uint32Array;
  /** Index where each token's segment starts [B, T] (0 for prefix tokens and padding). */
  segStart: Uint32Array;
  /** Shared prefix length per row [B]. */
  prefixLen: Uint32Array;
  /** Valid tokens per row [B]. */
  seqLen: Uint32Array;
  /** Flat index (b·T + t) of each scored position [M]. */
  scoredRows: Uint32Array;
  /** Target id of each scored position [M]. */
  targets: Uint32Array;
  spans: ResponseSpan[];
  /** Valid (non-padding) tokens in the batch. */
  tokens: number;
}

/** Tokens a group occupies in its packed row. */
export function packedLength(g: GroupSpec): number {
  return g.prompt.length - 1 + g.responses.reduce((n, r) => n + r.length, 0);
}

/**
 * Packs groups one per row. `padTo` fixes T (the longest row when absent); `padRows` adds empty
 * rows up to that many rows (a fixed batch shape lets pipelines and buffers be reused).
 */
export function packGroups(groups: readonly GroupSpec[], opts: { padTo?: number; padRows?: number } = {}): PackedBatch {
  const lengths = groups.map(packedLength);
  const T = Math.max(1, opts.padTo ?? 0, ...lengths);
  const B = Math.max(groups.length, opts.padRows ?? 0);
  const N = B * T;
  const ids = new Uint32Array(N);
  const positions = new Uint32Array(N);
  const segStart = new Uint32Array(N);
  const prefixLen = new Uint32Array(B);
  const seqLen = new Uint32Array(B);
  const M = groups.reduce((n, g) => n + g.responses.reduce((m, r) => m + r.length, 0), 0);
  const scoredRows = new Uint32Array(M);
  const targets = new Uint32Array(M);
  const spans: ResponseSpan[] = [];
  let m = 0;
  groups.forEach((g, b) => {
    const P = g.prompt.length;
    if (P < 1) throw runError(`packGroups: group ${b} has an empty prompt; a sequence needs at least one token to condition on`);
    if (lengths[b]! > T) throw runError(`packGroups: group ${b} needs ${lengths[b]} tokens, more than padTo ${T}`);
    const row = b * T;
    for (let t = 0; t < P - 1; t++) {
      ids[row + t] = g.prompt[t]!;
      positions[row + t] = t;
    }
    let t = P - 1;
    g.responses.forEach((r, i) => {
      const start = t;
      spans.push({ group: b, response: i, start: m, count: r.length });
      for (let j = 0; j < r.length; j++, t++) {
        ids[row + t] = j === 0 ? g.prompt[P - 1]! : r[j - 1]!;
        positions[row + t] = P - 1 + j;
        segStart[row + t] = start;
        scoredRows[m] = row + t;
        targets[m++] = r[j]!;
      }
    });
    prefixLen[b] = P - 1;
    seqLen[b] = t;
  });
  return { B, T, ids, positions, segStart, prefixLen, seqLen, scoredRows, targets, spans, tokens: lengths.reduce((a, n) => a + n, 0) };
}
