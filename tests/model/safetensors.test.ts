// safetensors format without a GPU: BF16 rounding bits, F16/BF16/F64 decoding from hand-built files,
// header layout (what HF's loader expects), sharded index reading, header errors.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bf16BitsToF32, buildHeader, f32ToBf16Bits, openSafetensors, readF32, readHeader, writeSafetensors } from "../../src/model/safetensors.ts";

const dir = mkdtempSync(join(tmpdir(), "longrl-st-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file from raw parts: header object and the data bytes. */
function rawFile(name: string, header: Record<string, unknown>, data: Uint8Array): string {
  let json = JSON.stringify(header);
  while (json.length % 8) json += " ";
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  out.set(data, 8 + json.length);
  writeFileSync(join(dir, name), out);
  return join(dir, name);
}

const bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;
const fromBits = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0]!;

describe("bf16 rounding (round to nearest even, as torch)", () => {
  const cases: [string, number, number][] = [
    ["1.0", 1.0, 0x3f80],
    ["-0", -0, 0x8000],
    ["tie rounds down to even", fromBits(0x3f808000), 0x3f80],
    ["tie rounds up to even", fromBits(0x3f818000), 0x3f82],
    ["above tie rounds up", fromBits(0x3f808001), 0x3f81],
    ["below tie rounds down", fromBits(0x3f807fff), 0x3f80],
    ["subnormal kept", fromBits(0x00012345), 0x0001],
    ["subnormal tie to even", fromBits(0x00018000), 0x0002],
    ["+inf", Infinity, 0x7f80],
    ["-inf", -Infinity, 0xff80],
    ["max float overflows to inf", fromBits(0x7f7fffff), 0x7f80],
    ["largest that stays finite", fromBits(0x7f7f7fff), 0x7f7f],
    ["NaN", NaN, 0x7fc0],
  ];
  for (const [name, x, want] of cases) {
    test(name, () => expect(f32ToBf16Bits(x).toString(16)).toBe(want.toString(16)));
  }
  test("negative NaN and NaN with low payload stay NaN", () => {
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(fromBits(0xff800001))))).toBe(true);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(fromBits(0x7f800001))))).toBe(true);
  });
  test("-0 round trips with its sign", () => expect(Object.is(bf16BitsToF32(f32ToBf16Bits(-0)), -0)).toBe(true));
  test("bits of a rounded value", () => expect(bits(bf16BitsToF32(0x3f82))).toBe(0x3f820000));
});

describe("reading", () => {
  test("F16 file: normals, subnormals, inf, NaN, -0", () => {
    const h = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x8000, 0x3555, 0x7bff]);
    const f = rawFile("f16.safetensors", { x: { dtype: "F16", shape: [2, 5], data_offsets: [0, 20] } }, new Uint8Array(h.buffer));
    const v = readF32(readHeader(f).tensors.get("x")!);
    expect(Array.from(v.slice(0, 6))).toEqual([1, -2, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity]);
    expect(Number.isNaN(v[6])).toBe(true);
    expect(Object.is(v[7], -0)).toBe(true);
    expect(v[8]).toBe(Math.fround(0x155 / 1024 * 0.25 + 0.25));
    expect(v[9]).toBe(65504);
  });

  test("BF16 and F64 tensors at unaligned data offsets", () => {
    const data = new Uint8Array(2 + 16);
    new DataView(data.buffer).setUint16(0, 0x4049, true); // 3.140625
    new DataView(data.buffer).setFloat64(2, 0.1, true);
    new DataView(data.buffer).setFloat64(10, -7.5, true);
    const f = rawFile("mixed.safetensors", { b: { dtype: "BF16", shape: [1], data_offsets: [0, 2] }, d: { dtype: "F64", shape: [2], data_offsets: [2, 18] } }, data);
    const src = readHeader(f);
    expect(readF32(src.tensors.get("b")!)[0]).toBe(3.140625);
    expect(Array.from(readF32(src.tensors.get("d")!))).toEqual([Math.fround(0.1), -7.5]);
  });

  test("sharded: index.json with a weight_map over two files", async () => {
    const sub = join(dir, "sharded");
    require("node:fs").mkdirSync(sub);
    await writeSafetensors(join(sub, "model-00001-of-00002.safetensors"), [{ name: "a", shape: [3], data: () => new Float32Array([1, 2, 3]) }], "F32");
    await writeSafetensors(join(sub, "model-00002-of-00002.safetensors"), [{ name: "b", shape: [2], data: () => new Float32Array([4, 5]) }], "BF16");
    writeFileSync(join(sub, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: 16 }, weight_map: { a: "model-00001-of-00002.safetensors", b: "model-00002-of-00002.safetensors" } }));
    const src = openSafetensors(sub);
    expect(Array.from(readF32(src.tensors.get("a")!))).toEqual([1, 2, 3]);
    expect(Array.from(readF32(src.tensors.get("b")!))).toEqual([4, 5]);
    writeFileSync(join(sub, "model.safetensors.index.json"), JSON.stringify({ weight_map: { a: "model-00002-of-00002.safetensors" } }));
    expect(() => openSafetensors(sub)).toThrow("tensor a is mapped to model-00002-of-00002.safetensors, which does not contain it");
  });

  test("bad headers name the file and tensor", () => {
    const f = rawFile("trunc.safetensors", { x: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8));
    expect(() => readHeader(f)).toThrow(`${f}: tensor x F32[4] has data_offsets [0, 16]`);
    const g = rawFile("int.safetensors", { ids: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
    expect(() => readHeader(g)).toThrow(`${g}: tensor ids has dtype I64`);
  });
});

describe("writing: the layout Hugging Face's loader reads", () => {
  test("8-byte LE length, padded JSON, __metadata__ format pt, contiguous offsets in order", async () => {
    const f = join(dir, "layout.safetensors");
    const shapes: [string, number[]][] = [["w", [3, 5]], ["b", [3]], ["s", [1]], ["e", [0]]];
    for (const dtype of ["F32", "BF16"] as const) {
      await writeSafetensors(f, shapes.map(([name, shape]) => ({ name, shape, data: () => new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5) })), dtype);
      const bytes = readFileSync(f);
      const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      expect(n % 8).toBe(0);
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
      expect(header.__metadata__).toEqual({ format: "pt" });
      let offset = 0;
      const bpe = dtype === "F32" ? 4 : 2;
      for (const [name, shape] of shapes) {
        expect(header[name].dtype).toBe(dtype);
        expect(header[name].shape).toEqual(shape);
        expect(header[name].data_offsets).toEqual([offset, offset + shape.reduce((a, b) => a * b, 1) * bpe]);
        offset = header[name].data_offsets[1];
      }
      expect(bytes.length).toBe(8 + n + offset);
    }
    expect(buildHeader([], "F32").length % 8).toBe(0);
  });
});
