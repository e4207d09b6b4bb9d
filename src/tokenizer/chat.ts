// Chat templates as plain string builders: Qwen's ChatML and the DeepSeek-R1-Distill format, chosen from the
// markers in tokenizer_config.json's Jinja `chat_template` (never executed) or by name. No tools/function calls.
// Sources: the chat_template of Qwen2.5 / Qwen3 and of deepseek-ai/DeepSeek-R1-Distill-Qwen (tokenizer_config.json).
import { usageError } from "../util/errors.ts";

export const CHAT_TEMPLATES = ["chatml", "deepseek-r1", "none"] as const;
export type ChatTemplateName = (typeof CHAT_TEMPLATES)[number];

export interface ChatFormat {
  /** "unrecognized": the tokenizer has a chat_template that is neither; applying it needs an explicit name. */
  template: ChatTemplateName | "unrecognized";
  /** DeepSeek-R1 starts the text with the BOS token (its template writes `{{ bos_token }}`). */
  bosToken?: string;
  /** ChatML system prompt inserted when the messages have none (Qwen2: "You are a helpful assistant."). */
  defaultSystem?: string;
  /** The generation prompt opens a reasoning block (`<think>\n`) unless told otherwise (R1-Distill does). */
  thinkByDefault: boolean;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatOptions {
  /** End with the assistant's turn header, for generation. */
  addGenerationPrompt: boolean;
  /**
   * true: the generation prompt ends with `<think>\n` (a reasoning model thinks first);
   * false: it ends with an empty, closed block `<think>\n\n</think>\n\n` (Qwen3's enable_thinking=false);
   * undefined: what the template does (R1-Distill: `<think>\n`; ChatML: nothing).
   */
  thinking?: boolean;
}

export const DEEPSEEK = {
  bos: "<｜begin▁of▁sentence｜>",
  eos: "<｜end▁of▁sentence｜>",
  user: "<｜User｜>",
  assistant: "<｜Assistant｜>",
} as const;
export const CHATML = { start: "<|im_start|>", end: "<|im_end|>" } as const;

/** Which format a Jinja chat_template implements, from its markers; undefined text means no template. */
export function detectChatFormat(templateText: string | undefined, bosToken?: string): ChatFormat {
  if (templateText === undefined || templateText.trim() === "") return { template: "none", thinkByDefault: false };
  if (templateText.includes(DEEPSEEK.user) && templateText.includes(DEEPSEEK.assistant)) {
    return { template: "deepseek-r1", bosToken: bosToken ?? DEEPSEEK.bos, thinkByDefault: templateText.includes(`${DEEPSEEK.assistant}<think>\\n`) };
  }
  if (templateText.includes(CHATML.start) && templateText.includes(CHATML.end)) {
    // Qwen2/2.5 write a literal default system turn: '<|im_start|>system\nYou are ...<|im_end|>\n'.
    const m = /<\|im_start\|>system\\n([^'"{}+]*?)<\|im_end\|>/.exec(templateText);
    return { template: "chatml", defaultSystem: m ? m[1]!.replaceAll("\\n", "\n") : undefined, thinkByDefault: false };
  }
  return { template: "unrecognized", thinkByDefault: false };
}

/** The format for a template name given in the config (overrides what the tokenizer files say). */
export function namedChatFormat(name: string, detected?: ChatFormat): ChatFormat {
  if (!(CHAT_TEMPLATES as readonly string[]).includes(name)) {
    throw usageError(`chatTemplate '${name}' is not one of ${CHAT_TEMPLATES.join(", ")}`);
  }
  if (detected?.template === name) return detected;
  if (name === "deepseek-r1") return { template: "deepseek-r1", bosToken: DEEPSEEK.bos, thinkByDefault: true };
  return { template: name as ChatTemplateName, thinkByDefault: false };
}

/** The format to use: the configured `chatTemplate` name, or (undefined, "" or "auto") what the tokenizer says. */
export function chooseChatFormat(detected: ChatFormat, configured?: string): ChatFormat {
  return configured === undefined || configured === "" || configured === "auto" ? detected : namedChatFormat(configured, detected);
}

/** The prompt text (the caller encodes it; special-token strings in it encode as special tokens). */
export function applyChatTemplate(format: ChatFormat, messages: readonly ChatMessage[], opts: ChatOptions): string {
  for (const [i, m] of messages.entries()) {
    if (!["system", "user", "assistant"].includes(m.role)) throw usageError(`chat message ${i}: role '${m.role}' is not system, user or assistant`);
    if (typeof m.content !== "string") throw usageError(`chat message ${i}: content must be a string`);
  }
  const think = opts.thinking ?? format.thinkByDefault;
  const thinkTail = opts.thinking === false ? "<think>\n\n</think>\n\n" : think ? "<think>\n" : "";
  switch (format.template) {
    case "chatml":
      return chatml(format, messages, opts.addGenerationPrompt ? thinkTail : undefined);
    case "deepseek-r1":
      return deepseekR1(format, messages, opts.addGenerationPrompt ? thinkTail : undefined);
    case "none":
      return plain(messages, opts.addGenerationPrompt ? thinkTail : undefined);
    case "unrecognized":
      throw usageError("tokenizer_config.json: chat_template is neither ChatML nor DeepSeek-R1; set chatTemplate to chatml, deepseek-r1 or none");
  }
}

/** Token strings that end an assistant turn: generation stops on them. */
export function chatStopTokens(format: ChatFormat, eosToken?: string): string[] {
  const stops: string[] = format.template === "chatml" ? [CHATML.end] : format.template === "deepseek-r1" ? [DEEPSEEK.eos] : [];
  if (eosToken !== undefined && !stops.includes(eosToken)) stops.push(eosToken);
  return stops;
}

/** Special tokens a format writes (a compact vocabulary must keep them). */
export function chatSpecialTokens(format: ChatFormat): string[] {
  if (format.template === "chatml") return [CHATML.start, CHATML.end];
  if (format.template === "deepseek-r1") return [format.bosToken ?? DEEPSEEK.bos, DEEPSEEK.user, DEEPSEEK.assistant, DEEPSEEK.eos];
  return [];
}

// Qwen ChatML: `<|im_start|>role\ncontent<|im_end|>\n` per message; generation prompt `<|im_start|>assistant\n`.
function chatml(format: ChatFormat, messages: readonly ChatMessage[], genTail: string | undefined): string {
  let s = "";
  if (format.defaultSystem !== undefined && messages[0]?.role !== "system") s += turn("system", format.defaultSystem);
  for (const m of messages) s += turn(m.role, m.content);
  if (genTail !== undefined) s += `${CHATML.start}assistant\n${genTail}`;
  return s;
}

function turn(role: string, content: string): string {
  return `${CHATML.start}${role}\n${content}${CHATML.end}\n`;
}

// DeepSeek-R1-Distill: BOS, the system prompts joined by "\n\n", then `<｜User｜>content` and
// `<｜Assistant｜>content<｜end▁of▁sentence｜>` (an assistant turn keeps only what follows its last `</think>`);
// generation prompt `<｜Assistant｜>` (+ `<think>\n` in the released template).
function deepseekR1(format: ChatFormat, messages: readonly ChatMessage[], genTail: string | undefined): string {
  let s = (format.bosToken ?? DEEPSEEK.bos) + messages.filter((m) => m.role === "system").map((m) => m.content).join("\n\n");
  for (const m of messages) {
    if (m.role === "user") s += DEEPSEEK.user + m.content;
    if (m.role === "assistant") s += DEEPSEEK.assistant + afterThink(m.content) + DEEPSEEK.eos;
  }
  if (genTail !== undefined) s += DEEPSEEK.assistant + genTail;
  return s;
}

function afterThink(content: string): string {
  const i = content.lastIndexOf("</think>");
  return i < 0 ? content : content.slice(i + "</think>".length);
}

// No chat format (a base model, or a tiny model trained on raw prompts): contents separated by a blank line.
function plain(messages: readonly ChatMessage[], genTail: string | undefined): string {
  const s = messages.map((m) => m.content).join("\n\n");
  return genTail === undefined || genTail === "" ? s : `${s}\n\n${genTail}`;
}
