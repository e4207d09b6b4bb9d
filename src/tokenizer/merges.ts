// Can tiktoken's rank-ordered BPE stand in for Hugging Face's merge-list BPE on this vocabulary?
// tiktoken merges the adjacent pair whose concatenation has the lowest id; HF applies the listed merges in order.
// They agree when (1) merge results' ids never decrease along the list, and (2) for every token, rank-ordered BPE
// of its bytes using only lower ids ends in one of its listed merges. Vocabularies trained as tiktoken ranks and
// exported to HF pass: Qwen (one merge per token) and Llama-3 (every valid split listed, ignore_merges).

/** Vocabularies whose check (2) passed in longrl's tests, by fingerprint; others are checked at load (~0.5 s). */
export const VERIFIED_VOCABULARIES: Record<string, string> = {
  // 151643 tokens + 151387 merges, shared by Qwen2, Qwen2.5, Qwen3 and DeepSeek-R1-Distill-Qwen.
  "2457c1482745cba4": "Qwen2/Qwen2.5/Qwen3",
};

export type Merge = readonly [string, string];

/** Check (1); returns the first disagreement in words, or undefined. Also lists each result id's merges. */
export function checkMergeOrder(
  vocab: ReadonlyMap<string, number>,
  merges: readonly Merge[],
): { problem?: string; mergesOf: Map<number, Merge[]> } {
  const mergesOf = new Map<number, Merge[]>();
  let prev = -1;
  for (let i = 0; i < merges.length; i++) {
    const [a, b] = merges[i]!;
    const id = vocab.get(a + b);
    const ia = vocab.get(a);
    const ib = vocab.get(b);
    if (id === undefined || ia === undefined || ib === undefined) {
      return { problem: `merges[${i}] ("${a}", "${b}") names a token that is not in model.vocab`, mergesOf };
    }
    if (id < prev || ia >= id || ib >= id) {
      return { problem: `merges[${i}] ("${a}", "${b}") makes id ${id}, but ids must grow with the merge order (previous ${prev})`, mergesOf };
    }
    const list = mergesOf.get(id);
    if (list) list.push(merges[i]!);
    else mergesOf.set(id, [merges[i]!]);
    prev = id;
  }
  return { mergesOf };
}

/** Check (2) on every multi-byte token; returns up to `limit` disagreements in words. */
export function findMergeMismatches(vocab: ReadonlyMap<string, number>, mergesOf: ReadonlyMap<number, readonly Merge[]>, limit = 3): string[] {
  const problems: string[] = [];
  for (const [token, rank] of vocab) {
    if (token.length < 2) continue;
    const parts = token.split("");
    while (parts.length > 2) {
      let best = Infinity;
      let at = -1;
      for (let k = 0; k + 1 < parts.length; k++) {
        const r = vocab.get(parts[k]! + parts[k + 1]!);
        if (r !== undefined && r < rank && r < best) {
          best = r;
          at = k;
        }
      }
      if (at < 0) break;
      parts.splice(at, 2, parts[at]! + parts[at + 1]!);
    }
    const listed = mergesOf.get(rank) ?? [];
    if (parts.length !== 2 || !listed.some(([a, b]) => a === parts[0] && b === parts[1])) {
      problems.push(
        `token "${token}" (id ${rank}): rank order builds it from ${JSON.stringify(parts)}, ` +
          `the merge list from ${listed.length > 0 ? listed.map((m) => JSON.stringify(m)).join(" or ") : "no merge"}`,
      );
      if (problems.length >= limit) break;
    }
  }
  return problems;
}

/** A 64-bit hash of the vocabulary (strings in id order) and the merge list. */
export function vocabularyFingerprint(vocab: ReadonlyMap<string, number>, merges: readonly Merge[]): string {
  const byId: string[] = [];
  for (const [token, id] of vocab) byId[id] = token;
  const parts: string[] = [];
  for (let id = 0; id < byId.length; id++) parts.push(`${id} ${byId[id] ?? ""}`);
  parts.push("#");
  for (const [a, b] of merges) parts.push(`${a} ${b}`);
  const text = parts.join("\n");
  return BigInt.asUintN(64, BigInt(Bun.hash.wyhash(text))).toString(16).padStart(16, "0");
}
