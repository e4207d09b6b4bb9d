// Compute pipelines from WGSL files, built once and cached by (shader, entry point, override
// constants). Building is synchronous so kernels can be plain functions; compile and validation
// errors are captured in an error scope and raised, with the shader's file and line, at the next
// point where the host waits for the GPU (flush with wait, readback: see recorder.ts).
import type { Gpu } from "./context.ts";
import { runError } from "../util/errors.ts";

/** A WGSL source file, imported as text so the compiled binary embeds it. */
export interface Shader {
  /** Path relative to the repository, for error messages: "shaders/matmul.wgsl". */
  readonly file: string;
  /** The source with its `// #include FILE` lines expanded. */
  readonly code: string;
  /** For each line of `code`: the file and line it came from (compile errors point there). */
  readonly lines: readonly { file: string; line: number }[];
}

export type Constants = Readonly<Record<string, number | boolean>>;

const modules = new WeakMap<Gpu, Map<string, GPUShaderModule>>();
const pendingChecks = new WeakMap<Gpu, Promise<string | undefined>[]>();

/**
 * A shader from its file name and text. WGSL has no includes, so a line `// #include NAME`
 * is replaced by the text given for NAME in `includes` (file paths as keys), one level deep.
 */
export function shader(file: string, code: string, includes: Readonly<Record<string, string>> = {}): Shader {
  const out: string[] = [];
  const lines: { file: string; line: number }[] = [];
  code.split("\n").forEach((text, i) => {
    const m = /^\s*\/\/\s*#include\s+(\S+)\s*$/.exec(text);
    if (!m) {
      out.push(text);
      lines.push({ file, line: i + 1 });
      return;
    }
    const inc = includes[m[1]!];
    if (inc === undefined) throw new Error(`${file}:${i + 1}: #include ${m[1]}: not given to shader()`);
    inc.split("\n").forEach((t, j) => {
      out.push(t);
      lines.push({ file: m[1]!, line: j + 1 });
    });
  });
  return { file, code: out.join("\n"), lines };
}

export function pipelineKey(s: Shader, entry: string, constants: Constants = {}): string {
  const keys = Object.keys(constants).sort();
  return `${s.file}#${entry}{${keys.map((k) => `${k}=${Number(constants[k])}`).join(",")}}`;
}

/** Returns the cached pipeline or builds it now. */
export function getPipeline(gpu: Gpu, s: Shader, entry: string, constants: Constants = {}): GPUComputePipeline {
  const key = pipelineKey(s, entry, constants);
  const hit = gpu.pipelines.get(key);
  if (hit) return hit;
  const module = getModule(gpu, s);
  const device = gpu.device;
  device.pushErrorScope("validation");
  const numeric: Record<string, number> = {};
  for (const [k, v] of Object.entries(constants)) numeric[k] = Number(v);
  const pipeline = device.createComputePipeline({
    label: key,
    layout: "auto",
    compute: { module, entryPoint: entry, constants: numeric },
  });
  const check = device.popErrorScope().then((err) => (err ? `${s.file} (${entry}): ${firstLine(err.message)}` : undefined));
  addCheck(gpu, check);
  gpu.pipelines.set(key, pipeline);
  return pipeline;
}

function getModule(gpu: Gpu, s: Shader): GPUShaderModule {
  let perGpu = modules.get(gpu);
  if (!perGpu) modules.set(gpu, (perGpu = new Map()));
  const hit = perGpu.get(s.file);
  if (hit) return hit;
  gpu.device.pushErrorScope("validation");
  const module = gpu.device.createShaderModule({ label: s.file, code: s.code });
  const scope = gpu.device.popErrorScope();
  const check = Promise.all([module.getCompilationInfo(), scope]).then(([info, err]) => {
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length) {
      const m = errors[0]!;
      const more = errors.length > 1 ? ` (+${errors.length - 1} more errors)` : "";
      const at = s.lines[m.lineNum - 1] ?? { file: s.file, line: m.lineNum };
      return `${at.file}:${at.line}:${m.linePos}: WGSL error: ${m.message}${more}`;
    }
    return err ? `${s.file}: ${firstLine(err.message)}` : undefined;
  });
  addCheck(gpu, check);
  perGpu.set(s.file, module);
  return module;
}

function addCheck(gpu: Gpu, check: Promise<string | undefined>): void {
  let list = pendingChecks.get(gpu);
  if (!list) pendingChecks.set(gpu, (list = []));
  list.push(check);
}

/** Awaits the compile checks started so far; returns the first error message, if any. */
export async function takeCompileErrors(gpu: Gpu): Promise<string | undefined> {
  const list = pendingChecks.get(gpu);
  if (!list || list.length === 0) return undefined;
  const results = await Promise.all(list.splice(0));
  return results.find((r) => r !== undefined);
}

/** Builds (and checks) pipelines ahead of the hot path; throws on the first compile error. */
export async function compilePipelines(gpu: Gpu, list: { shader: Shader; entry: string; constants?: Constants }[]): Promise<void> {
  for (const p of list) getPipeline(gpu, p.shader, p.entry, p.constants);
  const err = await takeCompileErrors(gpu);
  if (err) throw runError(err);
}

function firstLine(s: string): string {
  return s.split("\n").map((l) => l.trim()).filter(Boolean).join(" ").slice(0, 500);
}
