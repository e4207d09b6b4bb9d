// The command line as a user meets it: exit codes, one-line errors, `info --json`'s format.
import { describe, expect, test } from "bun:test";

async function longrl(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, "src/cli.ts", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code, stdout, stderr: stderr.split("\n").filter((l) => l.startsWith("longrl")).join("\n") };
}

describe("cli", () => {
  test("info --json has the documented fields", async () => {
    const r = await longrl(["info", "--json"]);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(Object.keys(info)).toEqual(["version", "bun", "adapter", "limits", "features"]);
    for (const k of ["backend", "vendor", "architecture", "description"]) expect(typeof info.adapter[k]).toBe("string");
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(Array.isArray(info.features)).toBe(true);
  });

  test("selfcheck passes and says so", async () => {
    const r = await longrl(["selfcheck"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/(\d+)\/\1 kernel checks passed/);
  });

  test("no adapter: exit 1 and one message saying what was tried and how to get a driver", async () => {
    const r = await longrl(["info"], { VK_DRIVER_FILES: "/nonexistent.json", VK_ICD_FILENAMES: "/nonexistent.json" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^longrl: no WebGPU adapter found \(tried .*\)\. .*lavapipe.*mesa-vulkan-drivers/);
    expect(r.stderr.split("\n").length).toBe(1);
  });

  test("bad usage: exit 2 with a one-line message", async () => {
    const u = await longrl(["frobnicate"]);
    expect(u.code).toBe(2);
    expect(u.stderr).toBe("longrl: Unknown argument: frobnicate");
    const near = await longrl(["scor"]);
    expect(near.code).toBe(2);
    expect(near.stderr).toBe('longrl: unknown command "scor". Did you mean score?');
    // A missing required flag stops before the command runs (no follow-on error from an undefined value).
    const m = await longrl(["data", "synth", "-n", "2"]);
    expect(m.code).toBe(2);
    expect(m.stderr).toBe("longrl: Missing required argument: out");
    const b = await longrl(["--backend", "cuda", "info"]);
    expect(b.code).toBe(2);
    expect(b.stderr).toBe("longrl: --backend cuda is not a backend; use one of: vulkan, metal, d3d12, opengles");
    const a = await longrl(["--adapter", "no-such-gpu", "info"]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/^longrl: --adapter no-such-gpu: no such adapter; available: '.+' \(\w+\)/);
    const s = await longrl(["bench", "matmul", "--sizes", "12,x"]);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain("--sizes 12,x");
  });
});
