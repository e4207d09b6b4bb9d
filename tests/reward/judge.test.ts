// The openai judge client against a real chat-completions server on loopback with scripted replies:
// timeouts, 429 then success, 500s until the budget is spent, malformed bodies, no verdict, concurrency, cache.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createJudge } from "../../src/reward/backend.ts";
import { DEFAULT_JUDGE, DEFAULT_REWARD, type JudgeOptions } from "../../src/reward/config.ts";
import { computeRewards } from "../../src/reward/hybrid.ts";
import { judgeQuestion, parseVerdict, type Judge } from "../../src/reward/judge.ts";
import { chatCompletionsUrl } from "../../src/reward/openai.ts";
import { LongrlError } from "../../src/util/errors.ts";
import { testGpu } from "../helpers.ts";

interface Scripted {
  url: string;
  requests: Array<{ path: string; body: any; auth: string | null }>;
  maxInFlight: number;
  stop(): void;
}

const servers: Scripted[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A loopback chat-completions server; `reply(n, body)` answers the n-th request (0-based). */
function serve(reply: (n: number, body: any) => Promise<Response> | Response): Scripted {
  let inFlight = 0;
  const s: Scripted = { url: "", requests: [], maxInFlight: 0, stop: () => {} };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.json();
      const n = s.requests.length;
      s.requests.push({ path: new URL(req.url).pathname, body, auth: req.headers.get("authorization") });
      inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, inFlight);
      try {
        return await reply(n, body);
      } finally {
        inFlight--;
      }
    },
  });
  s.url = `http://127.0.0.1:${server.port}`;
  s.stop = () => server.stop(true);
  servers.push(s);
  return s;
}

const chat = (content: string) => Response.json({ choices: [{ message: { role: "assistant", content } }] });

async function judgeFor(url: string, over: Partial<JudgeOptions> = {}): Promise<Judge> {
  const j = await createJudge({
    ...DEFAULT_JUDGE,
    backend: "openai",
    baseUrl: url,
    model: "judge-test",
    timeoutMs: 2000,
    maxRetries: 3,
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    concurrency: 4,
    cacheDir: "",
    ...over,
  });
  if (!j) throw new Error("createJudge returned null for openai");
  return j;
}

describe("openai judge client", () => {
  test("a verdict, the request it sends, and the API key from the named env var", async () => {
    const s = serve(() => chat("Both name the same city.\n[[YES]]"));
    process.env.LONGRL_TEST_JUDGE_KEY = "sk-test";
    const j = await judgeFor(`${s.url}/v1/`, { apiKeyEnv: "LONGRL_TEST_JUDGE_KEY" });
    const v = await j.ask("Where?", "Paris, France", "Paris");
    delete process.env.LONGRL_TEST_JUDGE_KEY;
    expect(v).toEqual({ verdict: 1, cached: false });
    const r = s.requests[0]!;
    expect(r.path).toBe("/v1/chat/completions");
    expect(r.auth).toBe("Bearer sk-test");
    expect(r.body.model).toBe("judge-test");
    expect(r.body.temperature).toBe(0);
    expect(r.body.messages[0].content).toContain("Do not solve the problem");
    expect(r.body.messages[0].content).toMatch(/\[\[YES\]\].*\[\[NO\]\]/);
    expect(r.body.messages[1].content).toBe("\nProblem: Where?\nAnswer 1: Paris, France\nAnswer 2: Paris\n");
  });

  test("a slow reply times out, is retried, and ends as a counted failure", async () => {
    const s = serve(async () => {
      await Bun.sleep(400);
      return chat("[[YES]]");
    });
    const j = await judgeFor(s.url, { timeoutMs: 60, maxRetries: 1 });
    const t0 = performance.now();
    const v = await j.ask("q", "a", "b");
    expect(v).toEqual({ verdict: null, cached: false, error: "timeout" });
    expect(performance.now() - t0).toBeLessThan(380); // did not wait for the server
    expect(s.requests.length).toBe(2);
    const st = j.stats();
    expect(st.failures).toBe(1);
    expect(st.retries).toBe(1);
    expect(st.failureReasons).toEqual({ timeout: 1 });
  });

  test("429 then success", async () => {
    const s = serve((n) => (n === 0 ? new Response("slow down", { status: 429, headers: { "retry-after": "0" } }) : chat("[[NO]]")));
    const j = await judgeFor(s.url);
    expect(await j.ask("q", "a", "b")).toEqual({ verdict: 0, cached: false });
    expect(s.requests.length).toBe(2);
    expect(j.stats()).toMatchObject({ asked: 1, no: 1, retries: 1, failures: 0 });
  });

  test("500s until the retry budget is spent", async () => {
    const s = serve(() => new Response("boom", { status: 500 }));
    const j = await judgeFor(s.url, { maxRetries: 2 });
    expect(await j.ask("q", "a", "b")).toEqual({ verdict: null, cached: false, error: "http 500" });
    expect(s.requests.length).toBe(3);
    expect(j.stats()).toMatchObject({ failures: 1, retries: 2, failureReasons: { "http 500": 1 } });
  });

  test("a 4xx other than 408/429 is not retried", async () => {
    const s = serve(() => new Response("no such model", { status: 404 }));
    const j = await judgeFor(s.url);
    expect((await j.ask("q", "a", "b")).error).toBe("http 404");
    expect(s.requests.length).toBe(1);
  });

  test("a malformed body is a failure, not a crash", async () => {
    const s = serve(() => new Response("{not json", { status: 200 }));
    const j = await judgeFor(s.url);
    expect(await j.ask("q", "a", "b")).toEqual({ verdict: null, cached: false, error: "malformed reply" });
    const s2 = serve(() => Response.json({ choices: [] }));
    expect((await (await judgeFor(s2.url)).ask("q", "a", "b")).error).toBe("malformed reply");
  });

  test("a reply with no verdict is a failure", async () => {
    const s = serve(() => chat("They look similar. YES, probably."));
    const j = await judgeFor(s.url);
    expect(await j.ask("q", "a", "b")).toEqual({ verdict: null, cached: false, error: "no verdict" });
    expect(j.stats().failureReasons).toEqual({ "no verdict": 1 });
  });

  test("a refused connection is retried as a network error", async () => {
    const s = serve(() => chat("[[YES]]"));
    const url = s.url;
    s.stop();
    const j = await judgeFor(url, { maxRetries: 1 });
    expect(await j.ask("q", "a", "b")).toEqual({ verdict: null, cached: false, error: "network" });
    expect(j.stats().retries).toBe(1);
  });

  test("concurrency never goes above the limit", async () => {
    const s = serve(async () => {
      await Bun.sleep(25);
      return chat("[[YES]]");
    });
    const j = await judgeFor(s.url, { concurrency: 3 });
    const vs = await Promise.all(Array.from({ length: 12 }, (_, i) => j.ask(`q${i}`, "a", "b")));
    expect(vs.every((v) => v.verdict === 1)).toBe(true);
    expect(s.requests.length).toBe(12);
    expect(s.maxInFlight).toBeLessThanOrEqual(3);
    expect(s.maxInFlight).toBeGreaterThanOrEqual(2); // it does run in parallel
  });

  test("identical questions in flight share one request", async () => {
    const s = serve(async () => {
      await Bun.sleep(20);
      return chat("[[YES]]");
    });
    const j = await judgeFor(s.url);
    const vs = await Promise.all([j.ask("q", "a", "b"), j.ask("q", "a", "b"), j.ask("q", "a", "b")]);
    expect(s.requests.length).toBe(1);
    expect(vs.map((v) => v.verdict)).toEqual([1, 1, 1]);
    expect(j.stats()).toMatchObject({ asked: 3, yes: 3, cacheHits: 2 });
  });

  test("the disk cache answers repeats, across judge instances", async () => {
    const dir = mkdtempSync(join(tmpdir(), "longrl-judge-"));
    dirs.push(dir);
    const s = serve(() => chat("Same.\n[[YES]]"));
    const j1 = await judgeFor(s.url, { cacheDir: dir });
    expect((await j1.ask("q", "a", "b")).cached).toBe(false);
    expect(await j1.ask("q", "a", "b")).toEqual({ verdict: 1, cached: true });
    const j2 = await judgeFor(s.url, { cacheDir: dir });
    expect(await j2.ask("q", "a", "b")).toEqual({ verdict: 1, cached: true });
    expect(s.requests.length).toBe(1);
    // another model, question, prediction or gold is another key
    await j2.ask("q", "a", "c");
    await (await judgeFor(s.url, { cacheDir: dir, model: "other" })).ask("q", "a", "b");
    expect(s.requests.length).toBe(3);
    const files = readdirSync(dir, { recursive: true }).map(String);
    expect(files.filter((f) => f.endsWith(".json")).length).toBe(3);
    expect(files.some((f) => f.endsWith(".tmp"))).toBe(false); // written atomically
  });

  test("failures are not cached", async () => {
    const dir = mkdtempSync(join(tmpdir(), "longrl-judge-"));
    dirs.push(dir);
    const s = serve((n) => (n === 0 ? chat("no idea") : chat("[[NO]]")));
    const j = await judgeFor(s.url, { cacheDir: dir });
    expect((await j.ask("q", "a", "b")).verdict).toBeNull();
    expect((await j.ask("q", "a", "b")).verdict).toBe(0);
  });
});

describe("judge rules", () => {
  test("the verdict is the last [[YES]]/[[NO]]", () => {
    expect(parseVerdict("[[YES]] ... on reflection [[NO]]")).toBe(0);
    expect(parseVerdict("[[NO]] ... no, [[YES]]")).toBe(1);
    expect(parseVerdict("YES")).toBeNull();
  });

  test("the question is sliced from a filled prompt", () => {
    const prompt = 'Read.\n\n<text>\ndoc\n</text>\n\nWho wrote it?\n\nFormat your response as follows: "Therefore, the answer is (insert answer here)".';
    expect(judgeQuestion(prompt)).toBe("Who wrote it?");
    expect(judgeQuestion("  plain question ")).toBe("plain question");
  });

  test("base URLs with or without /v1", () => {
    expect(chatCompletionsUrl("http://127.0.0.1:8000")).toBe("http://127.0.0.1:8000/v1/chat/completions");
    expect(chatCompletionsUrl("http://127.0.0.1:8000/v1/")).toBe("http://127.0.0.1:8000/v1/chat/completions");
    expect(() => chatCompletionsUrl("127.0.0.1:8000")).toThrow(/http/);
  });

  test("backend none is no judge; local without a model directory is a clear usage error", async () => {
    expect(await createJudge({ ...DEFAULT_JUDGE, backend: "none" })).toBeNull();
    let err: unknown;
    try {
      await createJudge({ ...DEFAULT_JUDGE, backend: "local", model: "/nonexistent/judge" }, await testGpu());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LongrlError);
    expect((err as LongrlError).exitCode).toBe(2);
    expect((err as LongrlError).message).toContain("reward.judge.model '/nonexistent/judge' has no config.json");
  });
});

describe("hybrid reward with a judge", () => {
  const T = "<think>r</think>";
  const items = [
    { response: `${T}Therefore, the answer is Paris.`, groundTruth: "Paris", dataSource: "musique", question: "Where?" },
    { response: `${T}Therefore, the answer is the French capital.`, groundTruth: "Paris", dataSource: "musique", question: "Where?" },
    { response: `${T}no marker`, groundTruth: "Paris", dataSource: "musique" },
    { response: `${T}The correct answer is (A).`, groundTruth: "B", dataSource: "long_toc_choices" },
  ];

  test("judge asked only below 1 with an answer (never for choice); max(rule, judge)", async () => {
    const s = serve(() => chat("[[YES]]"));
    const { results, stats } = await computeRewards(items, DEFAULT_REWARD, await judgeFor(s.url));
    expect(s.requests.length).toBe(1);
    expect(s.requests[0]!.body.messages[1].content).toContain("Answer 1: the French capital\nAnswer 2: Paris");
    expect(results.map((r) => [r.rule, r.judge, r.hybrid])).toEqual([[1, null, 1], [0, 1, 1], [0, null, 0], [0, null, 0]]);
    expect(stats).toMatchObject({ judgeAsked: 1, judgeYes: 1, judgeFailures: 0, accMean: 0.5 });
  });

  test("a failing judge falls back to the rule score and is counted", async () => {
    const s = serve(() => new Response("down", { status: 503 }));
    const { results, stats } = await computeRewards(items, DEFAULT_REWARD, await judgeFor(s.url, { maxRetries: 1 }));
    expect(results.map((r) => r.score)).toEqual([1, 0, 0, 0]);
    expect(results[1]!.judgeError).toBe("http 503");
    expect(stats.judgeFailures).toBe(1);
  });
});
