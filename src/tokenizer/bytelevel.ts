// GPT-2's byte-level alphabet: each of the 256 bytes is written as one printable code point in a
// byte-level BPE vocabulary ("Ġ" is the space byte). Source: openai/gpt-2 encoder.py bytes_to_unicode,
// used unchanged by Hugging Face's ByteLevel pre-tokenizer and decoder.

/** BYTE_TO_CHAR[b] = the code point that stands for byte b. */
export const BYTE_TO_CHAR: readonly number[] = buildTable();

// CHAR_TO_BYTE[cp] = byte for the 256 code points of the alphabet (all below 324), -1 elsewhere.
const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(512).fill(-1);
  BYTE_TO_CHAR.forEach((cp, b) => (t[cp] = b));
  return t;
})();

function buildTable(): number[] {
  // Printable bytes keep their own code point; the other 68 are shifted to 256, 257, ... in byte order.
  const table = new Array<number>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = printable ? b : 256 + shifted++;
  }
  return table;
}

/** The raw bytes a vocabulary string stands for, or undefined if it has a character outside the alphabet. */
export function byteLevelToBytes(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const cp = token.charCodeAt(i);
    const b = cp < 512 ? CHAR_TO_BYTE[cp]! : -1;
    if (b < 0) return undefined;
    out[i] = b;
  }
  return out;
}

/** The vocabulary string for raw bytes (inverse of byteLevelToBytes). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(BYTE_TO_CHAR[b]!);
  return s;
}
