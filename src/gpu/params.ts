// Packs a kernel's uniform parameters. Convention for every shader's `Params` struct: the u32
// fields first, then the f32 fields, each 4 bytes, in the order the host passes them.

export function packParams(u32: readonly number[], f32: readonly number[] = []): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((u32.length + f32.length) / 4) * 16));
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  u32.forEach((v, i) => (u[i] = v));
  f32.forEach((v, i) => (f[u32.length + i] = v));
  return buf;
}
