// On-disk judge verdict cache: one small JSON file per key (sha256 of model, question, prediction, gold).
// Files are written under a temporary name and renamed, so a crash or a parallel writer never leaves half a file.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

// Bump when the judge prompt or verdict rule changes, so old verdicts are not reused.
const KEY_VERSION = "longrl-judge-v1";

export interface CacheEntry {
  model: string;
  question: string;
  prediction: string;
  gold: string;
  verdict: 0 | 1;
  reply: string;
}

export function cacheKey(model: string, question: string, prediction: string, gold: string): string {
  return createHash("sha256").update(JSON.stringify([KEY_VERSION, model, question, prediction, gold])).digest("hex");
}

export interface VerdictCache {
  get(key: string): Promise<0 | 1 | undefined>;
  /** Resolves false when the entry could not be written (disk full, read-only dir); the caller counts it. */
  set(key: string, entry: CacheEntry): Promise<boolean>;
}

let tmpCounter = 0;

export function createVerdictCache(dir: string): VerdictCache {
  const memory = new Map<string, 0 | 1>();
  const pathOf = (key: string) => join(dir, key.slice(0, 2), `${key}.json`);
  return {
    async get(key) {
      const hit = memory.get(key);
      if (hit !== undefined) return hit;
      try {
        const entry = JSON.parse(await readFile(pathOf(key), "utf8")) as Partial<CacheEntry>;
        if (entry.verdict === 0 || entry.verdict === 1) {
          memory.set(key, entry.verdict);
          return entry.verdict;
        }
      } catch {
        // missing or unreadable: a miss (a corrupt file is overwritten by the next set)
      }
      return undefined;
    },
    async set(key, entry) {
      memory.set(key, entry.verdict);
      const path = pathOf(key);
      const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
      try {
        await mkdir(join(dir, key.slice(0, 2)), { recursive: true });
        await writeFile(tmp, JSON.stringify(entry));
        await rename(tmp, path);
        return true;
      } catch {
        return false;
      }
    },
  };
}
