// One error type for everything a user can cause or fix: the CLI prints its message as one line
// (no stack trace) and exits with its code. 2 = bad usage or input, 1 = the run failed.

export class LongrlError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2 = 1) {
    super(message);
    this.name = "LongrlError";
    this.exitCode = exitCode;
  }
}

/** Bad flag, file, field or shape: exit code 2. The message names the place and the fix. */
export function usageError(message: string): LongrlError {
  return new LongrlError(message, 2);
}

/** A failure of the run itself (no GPU adapter, device lost, I/O): exit code 1. */
export function runError(message: string): LongrlError {
  return new LongrlError(message, 1);
}

/** Edit distance, for "did you mean" suggestions on unknown names. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
