// Reward options as typed defaults, each with its reason; issue 6 folds them into the one RunConfig.
// Values follow QwenLong-L1's released training script (scripts/rl_4nodes_dapo.sh) unless a comment says otherwise.
import type { QaMatch } from "./qa.ts";

export type JudgeBackend = "none" | "openai" | "local";

export interface JudgeOptions {
  /** Which judge answers when the rule score is below 1. */
  backend: JudgeBackend;
  /** OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama); with or without the trailing /v1. */
  baseUrl: string;
  /** openai: the model name sent in the request; local: the model's directory. Part of the cache key. */
  model: string;
  /** Name of the environment variable holding the API key; unset or empty variable = no Authorization header. */
  apiKeyEnv: string;
  /** Per-request timeout, body included. */
  timeoutMs: number;
  /** Retries after the first attempt, on 429, 408, 5xx, network errors and timeouts. */
  maxRetries: number;
  /** Backoff before retry k is min(backoffMaxMs, backoffBaseMs * 2^k), times a jitter in [0.5, 1). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Requests in flight at once; a rollout batch can ask hundreds of questions (local: prompts per generate call). */
  concurrency: number;
  /** Directory of the on-disk verdict cache; "" disables it. */
  cacheDir: string;
  /** Cap on the judge's reply; it explains, then ends with [[YES]]/[[NO]]. */
  maxTokens: number;
}

export interface OverlongOptions {
  /** DAPO overlong shaping; on in QwenLong-L1's demo (overlong_buffer.enable=True). */
  enable: boolean;
  /** L: the rollout's max response tokens (QwenLong-L1: data.max_response_length=10000). */
  maxResponseTokens: number;
  /** B: the soft buffer before L (overlong_buffer.len=1000). */
  bufferTokens: number;
  /** Penalty at len = L (overlong_buffer.penalty_factor=1.0). */
  factor: number;
}

export interface RewardOptions {
  /** QwenLong-L1 trains reasoning models: no `</think>` scores 0. False scores the whole response. */
  requireThink: boolean;
  /** How a qa answer earns the rule score (src/reward/qa.ts, QaMatch): "cover", "either" (QwenLong-L1) or "exact". */
  qaMatch: QaMatch;
  judge: JudgeOptions;
  overlong: OverlongOptions;
}

export const DEFAULT_JUDGE: JudgeOptions = {
  backend: "none", // no judge unless asked: the rule verifiers alone are QwenLong-L1's default (LLM_JUDGE unset)
  baseUrl: "http://127.0.0.1:8000", // vLLM's default port on this machine
  model: "", // must be named when backend = openai
  apiKeyEnv: "OPENAI_API_KEY", // what the openai client reads; local servers ignore it
  timeoutMs: 60_000, // a 7B judge writes a short explanation in well under a minute
  maxRetries: 5, // QwenLong-L1 passes retry_count=5
  backoffBaseMs: 500,
  backoffMaxMs: 30_000, // QwenLong-L1 caps at 64 s; a training step should not stall that long
  concurrency: 16,
  cacheDir: ".cache/judge", // .cache/ is git-ignored
  maxTokens: 1024,
};

export const DEFAULT_OVERLONG: OverlongOptions = {
  enable: true,
  maxResponseTokens: 10_000,
  bufferTokens: 1_000,
  factor: 1.0,
};

export const DEFAULT_REWARD: RewardOptions = {
  requireThink: true,
  // Not QwenLong-L1's two-way rule ("either"): under it the demo's policies learnt to answer a year with one digit
  // of it and were paid 1 (README, "The demo run"). "cover" still pays an answer that wraps the gold in more words.
  qaMatch: "cover",
  judge: DEFAULT_JUDGE,
  overlong: DEFAULT_OVERLONG,
};
