// Diagnostic: how far training moved a model between two checkpoint directories. Prints each tensor's relative
// change ||B - A|| / ||A||, and for the embedding (the LM head too when tied) the median change of a row and the rows
// that moved most, by token (compact vocabularies are mapped back through longrl_vocab.json).
//   bun scripts/weight-delta.ts RUN/checkpoints/step-1600 RUN/checkpoints/step-1640
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { get_encoding } from "tiktoken";
import { openSafetensors, readF32 } from "../src/model/safetensors.ts";

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error("usage: bun scripts/weight-delta.ts CHECKPOINT_A CHECKPOINT_B (two checkpoint directories of one model)");
  process.exit(2);
}
const open = (dir: string) => {
  try {
    return openSafetensors(join(dir, "model.safetensors"));
  } catch (err) {
    console.error(`${(err as Error).message}; give two checkpoint directories (RUN/checkpoints/step-N)`);
    process.exit(2);
  }
};
const A = open(a);
const B = open(b);
const vocabFile = join(a, "longrl_vocab.json");
const ids: number[] | null = existsSync(vocabFile) ? (JSON.parse(readFileSync(vocabFile, "utf8")) as { ids: number[] }).ids : null;
const enc = get_encoding("cl100k_base");
const token = (row: number) => JSON.stringify(new TextDecoder().decode(enc.decode(new Uint32Array([ids ? ids[row]! : row]))));

for (const [name, ta] of A.tensors) {
  const tb = B.tensors.get(name);
  if (!tb) {
    console.error(`${b}: no tensor ${name}; give two checkpoints of the same model`);
    process.exit(2);
  }
  const x = readF32(ta);
  const y = readF32(tb);
  let d = 0;
  let n = 0;
  for (let i = 0; i < x.length; i++) {
    d += (x[i]! - y[i]!) ** 2;
    n += x[i]! ** 2;
  }
  // A tensor that starts at zero (a bias) has no relative change: print the norm of its change instead.
  console.log(n > 0 ? `${name}: relative change ${Math.sqrt(d / n).toExponential(2)}` : `${name}: zero in A, change norm ${Math.sqrt(d).toExponential(2)}`);
  if (!name.endsWith("embed_tokens.weight")) continue;
  const [V, C] = ta.shape as [number, number];
  const rows = Array.from({ length: V }, (_, v) => {
    let dd = 0;
    for (let c = 0; c < C; c++) dd += (x[v * C + c]! - y[v * C + c]!) ** 2;
    return { v, delta: Math.sqrt(dd) };
  }).sort((p, q) => q.delta - p.delta);
  console.log(`  rows: median change ${rows[V >> 1]!.delta.toFixed(4)}; most: ${rows.slice(0, 10).map((r) => `${token(r.v)} ${r.delta.toFixed(3)}`).join(", ")}`);
}
enc.free();
