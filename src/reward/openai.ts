// Judge client for any OpenAI-compatible /v1/chat/completions server (vLLM, SGLang, llama.cpp, Ollama).
// Temperature 0, per-request timeout, retries with exponential backoff + jitter, bounded concurrency, disk cache.
import { usageError } from "../util/errors.ts";
import type { JudgeOptions } from "./config.ts";
import { emptyJudgeStats, JUDGE_SYSTEM_PROMPT, type Judge, judgeOver, type JudgeReply, judgeUserPrompt } from "./judge.ts";

/** `${base}/v1/chat/completions`, whether the base URL ends in /v1, in /v1/chat/completions, or in neither. */
export function chatCompletionsUrl(baseUrl: string): string {
  let u = baseUrl.trim().replace(/\/+$/, "");
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw usageError(`judge base URL '${baseUrl}' is not a URL; give one like http://127.0.0.1:8000 (--judge-url)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw usageError(`judge base URL '${baseUrl}' must start with http:// or https:// (--judge-url)`);
  }
  if (u.endsWith("/chat/completions")) return u;
  if (!u.endsWith("/v1")) u += "/v1";
  return `${u}/chat/completions`;
}

type Attempt =
  | { ok: true; body: string }
  | { ok: false; reason: string; retryable: boolean; retryAfterMs?: number };

/** A counting semaphore: at most `limit` calls of `run` are inside fn at once. */
function semaphore(limit: number) {
  let active = 0;
  const waiters: Array<() => void> = [];
  return async function run<T>(fn: () => Promise<T>): Promise<T> {
    while (active >= limit) await new Promise<void>((wake) => waiters.push(wake));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiters.shift()?.();
    }
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createOpenAIJudge(opts: JudgeOptions): Judge {
  if (!opts.model) throw usageError("the openai judge needs a model name: pass --judge-model NAME (judge.model)");
  if (!(opts.concurrency >= 1)) throw usageError(`judge.concurrency ${opts.concurrency} must be at least 1`);
  const url = chatCompletionsUrl(opts.baseUrl);
  const apiKey = opts.apiKeyEnv ? process.env[opts.apiKeyEnv] : undefined;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const limit = semaphore(opts.concurrency);
  const stats = emptyJudgeStats();

  async function attempt(body: string): Promise<Attempt> {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), opts.timeoutMs);
    try {
      const res = await fetch(url, { method: "POST", headers, body, signal: ctrl.signal });
      const text = await res.text(); // under the same timeout: a server that stalls mid-body times out too
      if (res.ok) return { ok: true, body: text };
      const retryable = res.status === 429 || res.status === 408 || res.status >= 500;
      const ra = Number(res.headers.get("retry-after"));
      return { ok: false, reason: `http ${res.status}`, retryable, retryAfterMs: ra >= 0 ? ra * 1000 : undefined };
    } catch {
      return { ok: false, reason: ctrl.signal.aborted ? "timeout" : "network", retryable: true };
    } finally {
      clearTimeout(timer);
    }
  }

  function backoffMs(retry: number, retryAfterMs?: number): number {
    const exp = Math.min(opts.backoffMaxMs, opts.backoffBaseMs * 2 ** retry);
    const jittered = exp * (0.5 + Math.random() / 2); // "equal jitter": spreads a burst of 429s apart
    return Math.min(opts.backoffMaxMs, Math.max(jittered, retryAfterMs ?? 0));
  }

  async function reply(question: string, prediction: string, gold: string): Promise<JudgeReply> {
    const body = JSON.stringify({
      model: opts.model,
      messages: [
        { role: "system", content: JUDGE_SYSTEM_PROMPT },
        { role: "user", content: judgeUserPrompt(question, prediction, gold) },
      ],
      temperature: 0,
      max_tokens: opts.maxTokens,
    });
    for (let retry = 0; ; retry++) {
      const a = await limit(() => attempt(body));
      if (!a.ok) {
        if (a.retryable && retry < opts.maxRetries) {
          stats.retries++;
          await sleep(backoffMs(retry, a.retryAfterMs));
          continue;
        }
        return { error: a.reason };
      }
      // A 200 with a broken body is not retried (as the openai client does): at temperature 0 it would repeat.
      const content = replyContent(a.body);
      return content === null ? { error: "malformed reply" } : { reply: content };
    }
  }

  return judgeOver("openai", { cacheModel: opts.model, cacheDir: opts.cacheDir }, reply, stats);
}

/** choices[0].message.content of a chat-completions reply, or null when the body is not that shape. */
function replyContent(body: string): string | null {
  try {
    const json = JSON.parse(body) as { choices?: Array<{ message?: { content?: unknown } }> };
    const content = json?.choices?.[0]?.message?.content;
    return typeof content === "string" ? content : null;
  } catch {
    return null;
  }
}
