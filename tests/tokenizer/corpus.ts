// Hard texts for tokenizer tests: whitespace runs, digits, CJK, emoji/ZWJ, code, URLs, contractions, accents and
// combining marks, special tokens written in text, long words; plus seeded random mixes of nasty pieces.
import { createRng } from "../../src/util/rng.ts";

const PY = `def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n`;
const JS = "const re = /^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@example\\.com$/i;\nif (x !== null && y >= 0x1F) { console.log(`${x}->${y}`); }\n";
const JSON_TEXT = '{"id": 17, "data_source": "musique", "answer": ["Paris", null], "score": -0.25e-3}';
const HTML = '<div class="a b" data-x=\'1\'><p>Hello&nbsp;&amp; <b>world</b></p></div>\n<!-- comment -->';
const LATEX = "\\begin{align} E &= mc^2 \\\\ \\int_0^\\infty e^{-x^2}\\,dx &= \\frac{\\sqrt{\\pi}}{2} \\end{align}";
const CPP = "template <typename T>\nstd::vector<T> f(const std::map<int, T>& m) { return {}; } // ok\n\t\treturn 0;";

export const HARD_TEXTS: string[] = [
  // whitespace
  "", " ", "  ", "   ", "          ", "\t", "\t\t", "\t\t\tx", "\n", "\n\n", "\n\n\n\n", " \n", "\n ", " \n \n ", "a\r\nb", "\r", "\r\r\n",
  "x \t y", "trailing   ", "   leading", "a  b   c    d", "line1\n\n\nline2\n", "\t \t \n\t", "x\u00a0y", "\u3000indent", "a\u2028b\u2029c",
  "word \n\n  next", "  \n  \n  ", "end with tab\t", "\u000b\u000c", "x\u1680y\u2003z",
  // digits
  "0", "7", "12345678901234567890", "3.14159", "1,000,000.00", "-42", "+1e-9", "2024-01-01T12:34:56Z", "v1.2.3", "０１２３",
  "٣٤٥٦", "½ ¾ ²³", "Ⅻ ⅻ", "room 101b", "a1b2c3d4", "$1,234.56 (≈ €1,100)", "99.5%", "1st 2nd 3rd 4th",
  // CJK and other scripts
  "你好，世界！", "我们今天去公园散步。", "日本語のテキストとカタカナ、ひらがな。", "한국어 텍스트입니다", "中文English混合text",
  "（全角括号）【标签】「引用」", "Привет, мир!", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "สวัสดีชาวโลก", "नमस्ते दुनिया",
  "ქართული", "Հայերեն", "ᐊᓂᔑᓈᐯᒧᐎᓐ", "Tiếng Việt có dấu", "\u200fRTL mark", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐛𝐨𝐥𝐝",
  // emoji and ZWJ
  "😀", "😀😃😄😁", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️", "1️⃣", "I ❤ NY", "emoji😀in😀words", "👩🏿‍💻 codes", "🧑‍🤝‍🧑",
  "a\u200db", "a\u200cb", "a\u200bb", "soft\u00adhyphen", "︎variation︎",
  // code
  PY, JS, JSON_TEXT, HTML, LATEX, CPP, "x=1;y=2;z=x+y", "if(a&&b||!c){}", "arr[i][j]+=1", "#include <stdio.h>", "SELECT * FROM t WHERE a >= 1;",
  "    indented\n        more\n    less", "$ ls -la | grep '.ts$' > out.txt 2>&1", "a->b::c", "i++ --j", "0xDEADBEEF 0b1010 0o777",
  // URLs and mail
  "https://example.com/path/to/page?q=1&r=two#frag", "http://localhost:8080/", "mailto:someone@example.org", "www.example.co.uk/a_b-c.html",
  "ftp://files.example.net/pub/file.tar.gz", "see https://arxiv.org/abs/2505.17667v2.",
  // contractions and apostrophes
  "it's", "IT'S", "It'S", "we're", "WE'RE", "they've", "I'm", "you'll", "he'd", "don't", "can't won't", "'s", "''", "'", "rock'n'roll",
  "’s curly", "the dog's bone's", "o'clock", "'tis", "y'all'd've", "'ll 'LL 'Ll", "I'M", "'d'd'd",
  "'Sup", "DON'TCARE", "SHE'LLBE", "'Dog 'Tis 'Re'Ve'M", // upper-case contractions followed by letters: (?i:...) matters
  // accents and combining marks
  "café", "cafe\u0301", "naïve résumé", "Ångström", "A\u030angstro\u0308m", "Zoë", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319",
  "\u1112\u1161\u11ab\u1100\u1173\u11af", "e\u0301\u0301\u0301", "\u0301leading mark", "ﬁ ﬂ ligatures", "\u212a Kelvin \u2126 Ohm \u212b",
  "\uf900\uf901", "ǅ ǈ ǋ", "ß ẞ", "İstanbul ı", "ſ long s", "x\u0338", "≯ ≮",
  // special tokens written in text
  "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
  "<think>\nLet me reason.\n</think>\n\nThe answer is 4.", "<tool_call>{}</tool_call>", "x<|im_end|>y", "<|im_start|><|im_start|>",
  "<|im_start", "im_start|>", "<||im_end|>>", "< |im_end| >", "<|im_end|>\u0338", "a <|endoftext|> b", "<|IM_START|>", "<think><think></think>",
  // long words and runs
  "a".repeat(1000), "supercalifragilisticexpialidocious".repeat(30), "😀".repeat(200), "1".repeat(500), " ".repeat(1000), "\n".repeat(300),
  "\t".repeat(100), ".".repeat(333), "-".repeat(80), "=".repeat(77) + "\n", "ab".repeat(400), "你".repeat(300),
  "QmFzZTY0IGVuY29kZWQgdGV4dCB3aXRoIHNvbWUgcGFkZGluZw==".repeat(5), "0123456789abcdef".repeat(40), "ACGT".repeat(250),
  "Pneumonoultramicroscopicsilicovolcanoconiosis", "Donaudampfschifffahrtsgesellschaftskapitän",
  // control characters
  "\u0000", "a\u0001b", "\u007f", "\u001b[31mred\u001b[0m", "\u0008back",
];

/** Pieces that mix badly; random strings of them exercise the pre-tokenizer's boundaries. */
export const PIECES = [
  " ", "  ", "\t", "\n", "\r\n", "\r", "a", "Z", "é", "e\u0301", "1", "23", "٣", "Ⅻ", "你", "好", "。", "😀", "👨‍👩‍👧", "\u200d",
  "'s", "'S", "'ll", "'", '"', "-", "_", ".", "...", "<|im_start|>", "<|im_end|>", "<think>", "<|endoftext|>", "<", "|", ">",
  "\u00a0", "\u3000", "\u2028", "\u000b", "\u000c", "ſ", "'ſ", "\u212a", "İ", "ß", "ﬁ", "Ω", "x", "http://", "/", "\\", "{", "}",
  "  \n", "\t\t", "$", "€", "ǅ", "ᾈ", "\u0338", "\u1680", "the", " The", "don't", "1234",
];

/** `n` seeded random strings of 1-12 pieces. */
export function randomMixes(n: number, seed: number): string[] {
  const rng = createRng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.range(1, 12);
    let s = "";
    for (let j = 0; j < k; j++) s += rng.pick(PIECES);
    out.push(s);
  }
  return out;
}

/** A long English/Chinese/code document of roughly `tokens` Qwen tokens. */
export function longDocument(tokens: number): string {
  const para =
    "The committee met on 12 March 2021 to review the budget of $4,250,000. Members asked whether the figures " +
    "were final; the chair said they're not. 会议讨论了预算问题。\n\n    for (let i = 0; i < n; i++) total += x[i];\n\n";
  return para.repeat(Math.ceil(tokens / 70)); // 71 Qwen tokens per paragraph
}
