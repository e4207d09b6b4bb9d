// Loads Dawn's Node-API addon (npm `webgpu`) by a literal path per platform, so that
// `bun build --compile` embeds it; the package's own index.js builds the path at run time,
// which the bundler cannot follow. Nothing else in longrl touches the addon.
import { runError } from "../util/errors.ts";

export interface DawnAddon {
  /** Returns the GPU root object; Dawn's binding lives only as long as it is reachable. */
  create(options: string[]): GPU;
  /** The WebGPU constructors and enums (GPUBufferUsage, GPUMapMode, ...). */
  globals: Record<string, unknown>;
}

let addon: DawnAddon | undefined;

function requireAddon(): DawnAddon {
  const key = `${process.platform}-${process.arch}`;
  switch (key) {
    case "linux-x64":
      return require("../../node_modules/webgpu/dist/linux-x64/dawn.node");
    case "linux-arm64":
      return require("../../node_modules/webgpu/dist/linux-arm64/dawn.node");
    case "darwin-x64":
    case "darwin-arm64":
      return require("../../node_modules/webgpu/dist/darwin-universal/dawn.node");
    case "win32-x64":
      return require("../../node_modules/webgpu/dist/win32-x64/dawn.node");
    case "win32-arm64":
      return require("../../node_modules/webgpu/dist/win32-arm64/dawn.node");
    default:
      throw runError(`no Dawn (WebGPU) build for ${key}; the npm package 'webgpu' ships linux, darwin and win32 builds`);
  }
}

/** Loads the addon once and installs the WebGPU globals (GPUBufferUsage etc.). */
export function loadDawn(): DawnAddon {
  if (addon) return addon;
  try {
    addon = requireAddon();
  } catch (err) {
    if ((err as Error).name === "LongrlError") throw err;
    throw runError(
      `could not load Dawn's WebGPU addon (${(err as Error).message.split("\n")[0]}); run 'npm ci' in the longrl folder`,
    );
  }
  Object.assign(globalThis, addon.globals);
  return addon;
}
