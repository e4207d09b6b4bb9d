// The one GPU context of the process: Dawn's root object, the adapter, the device with the
// adapter's own limits, and the state every other GPU module hangs off (pipeline cache, buffer
// pool, command recorder, mapped-buffer registry). The two Bun+Dawn crashes of shared/setup.md are
// designed out here: the root object is held by the context for as long as the device lives, and
// the device is destroyed only by releaseGpu(), which unmaps every mapped buffer first.
import { loadDawn } from "./dawn.ts";
import { runError, usageError } from "../util/errors.ts";
import { type Recorder, newRecorder } from "./recorder.ts";

export const BACKENDS = ["vulkan", "metal", "d3d12", "opengles"] as const;
export type Backend = (typeof BACKENDS)[number];

export interface GpuOptions {
  /** vulkan | metal | d3d12 | opengles; undefined = Dawn's choice (env LONGRL_BACKEND). */
  backend?: string;
  /** Adapter name or a distinctive part of it (Dawn matches it). */
  adapter?: string;
}

export interface AdapterSummary {
  backend: string;
  vendor: string;
  architecture: string;
  description: string;
  device: string;
  isFallbackAdapter: boolean;
}

/** Bytes one storage-buffer binding may span on this device (WebGPU's default, 128 MiB, when unreported). */
export function maxBindingBytes(gpu: Gpu): number {
  return gpu.limits.maxStorageBufferBindingSize ?? 134217728;
}

export interface Gpu {
  /** Dawn's root object. Never drop it while the device lives: Dawn's binding dies with it. */
  readonly root: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly summary: AdapterSummary;
  /** The limits granted to the device (requested = the adapter's own). */
  readonly limits: Readonly<Record<string, number>>;
  readonly features: readonly string[];
  /** lavapipe/SwiftShader and the like: kernels pick their CPU-friendly variants. */
  readonly isSoftware: boolean;
  /** Compiled pipelines, keyed by shader name + entry point + override constants. */
  readonly pipelines: Map<string, GPUComputePipeline>;
  /** Free buffers by byte size, reused across steps (src/gpu/tensor.ts). */
  readonly pool: Map<number, GPUBuffer[]>;
  /** Buffers currently mapped for reading; releaseGpu unmaps them before destroying. */
  readonly mapped: Set<GPUBuffer>;
  /** Staging buffers for readback, by byte size. */
  readonly staging: Map<number, GPUBuffer[]>;
  readonly recorder: Recorder;
  /** Errors Dawn reported outside any error scope, not yet raised to the caller. */
  readonly uncaptured: string[];
  lostReason: string | undefined;
  released: boolean;
}

/** Limits longrl asks for: everything the adapter offers for compute. */
const WANTED_LIMITS = [
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBufferBindingSize",
  "maxUniformBuffersPerShaderStage",
  "maxBindGroups",
  "maxBindingsPerBindGroup",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "minStorageBufferOffsetAlignment",
  "minUniformBufferOffsetAlignment",
] as const;

const WANTED_FEATURES = ["shader-f16", "subgroups", "subgroup-size-control", "timestamp-query"] as const;

let current: Gpu | undefined;
const listingRoots: GPU[] = [];
let currentKey = "";

export const LAVAPIPE_HELP =
  "no GPU driver? install Mesa's lavapipe (a CPU Vulkan driver). Debian 12, as root: " +
  "printf 'Types: deb\\nURIs: http://deb.debian.org/debian\\nSuites: bookworm-backports\\nComponents: main\\n" +
  "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n' > /etc/apt/sources.list.d/backports.sources && " +
  "apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1 " +
  "(Debian 13 / Ubuntu 24.04+: apt-get install -y mesa-vulkan-drivers libvulkan1); " +
  "with a GPU, install its vendor's Vulkan/Metal/D3D12 driver";

/** Acquires the process's GPU context (created once; later calls with the same options reuse it). */
export async function acquireGpu(options: GpuOptions = {}): Promise<Gpu> {
  const backend = options.backend ?? process.env.LONGRL_BACKEND ?? undefined;
  const adapterName = options.adapter ?? process.env.LONGRL_ADAPTER ?? undefined;
  if (backend !== undefined && !(BACKENDS as readonly string[]).includes(backend)) {
    throw usageError(`--backend ${backend} is not a backend; use one of: ${BACKENDS.join(", ")}`);
  }
  const key = `${backend ?? ""}|${adapterName ?? ""}`;
  if (current && !current.released) {
    if (key !== currentKey) throw runError(`a GPU device is already open with other options (${currentKey}); one device per process`);
    return current;
  }
  const dawn = loadDawn();
  // Kernel profiles (profile.ts) want timestamps at full resolution; Dawn rounds them by default (a browser's timing-attack guard).
  const dawnOptions: string[] = ["disable-dawn-features=timestamp_quantization"];
  if (backend) dawnOptions.push(`backend=${backend}`);
  if (adapterName) dawnOptions.push(`adapter=${adapterName}`);
  if (backend === "opengles" && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = "surfaceless";

  let root: GPU;
  try {
    root = dawn.create(dawnOptions);
  } catch (err) {
    throw dawnCreateError(err as Error, adapterName);
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await root.requestAdapter(backend === "opengles" ? ({ featureLevel: "compatibility" } as GPURequestAdapterOptions) : {});
  } catch (err) {
    throw dawnCreateError(err as Error, adapterName);
  }
  if (!adapter) {
    const tried = backend ? `backend ${backend}` : "Dawn's default backend for this platform";
    throw runError(`no WebGPU adapter found (tried ${tried}${adapterName ? `, adapter '${adapterName}'` : ""}). ${LAVAPIPE_HELP}`);
  }

  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === "number") requiredLimits[name] = v;
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: "longrl" });

  const info = adapter.info;
  const summary: AdapterSummary = {
    backend: backend ?? (await detectBackend(dawn.create, info.description || info.device)),
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    device: info.device,
    isFallbackAdapter: Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter),
  };
  const limits: Record<string, number> = {};
  for (const name in device.limits) {
    const v = (device.limits as unknown as Record<string, number>)[name];
    if (typeof v === "number") limits[name] = v;
  }
  const gpu: Gpu = {
    root,
    adapter,
    device,
    summary,
    limits,
    features: [...device.features].sort(),
    isSoftware: summary.isFallbackAdapter || summary.architecture === "software" || /llvmpipe|swiftshader/i.test(summary.description),
    pipelines: new Map(),
    pool: new Map(),
    mapped: new Set(),
    staging: new Map(),
    recorder: newRecorder(),
    uncaptured: [],
    lostReason: undefined,
    released: false,
  };
  device.addEventListener("uncapturederror", (ev) => {
    gpu.uncaptured.push((ev as GPUUncapturedErrorEvent).error.message);
  });
  device.lost.then((info) => {
    if (!gpu.released) {
      gpu.lostReason = `${info.reason}: ${info.message}`;
      process.stderr.write(`longrl: the GPU device was lost (${gpu.lostReason})\n`);
    }
  });
  current = gpu;
  currentKey = key;
  return gpu;
}

/** Throws if the device was lost or Dawn reported an error nobody captured. */
export function checkGpu(gpu: Gpu, what: string): void {
  if (gpu.released) throw runError(`${what}: the GPU context was released`);
  if (gpu.lostReason) throw runError(`${what}: the GPU device was lost (${gpu.lostReason})`);
  if (gpu.uncaptured.length) {
    const msgs = gpu.uncaptured.splice(0);
    throw runError(`${what}: WebGPU reported: ${msgs[0]!.split("\n")[0]}${msgs.length > 1 ? ` (+${msgs.length - 1} more)` : ""}`);
  }
}

/**
 * Destroys the device. Every mapped buffer is unmapped first (Bun crashes when a device is
 * destroyed with a mapped buffer), and the root object is released only after the device.
 */
export function releaseGpu(gpu: Gpu): void {
  if (gpu.released) return;
  for (const b of gpu.mapped) b.unmap();
  gpu.mapped.clear();
  gpu.released = true;
  gpu.device.destroy();
  for (const list of gpu.pool.values()) list.length = 0;
  for (const list of gpu.staging.values()) list.length = 0;
  gpu.pipelines.clear();
  if (current === gpu) current = undefined;
}

/** Dawn reports unknown backends and adapter names by throwing; turn that into a usage error. */
function dawnCreateError(err: Error, adapterName: string | undefined): Error {
  const msg = err.message ?? String(err);
  const available = parseAdapterList(msg);
  if (/unrecognised backend/i.test(msg)) {
    return usageError(`--backend: Dawn does not know it; use one of: ${BACKENDS.join(", ")}`);
  }
  if (adapterName && available.length) {
    const list = available.map((a) => `'${a.name}' (${a.backend})`).join(", ");
    return usageError(`--adapter ${adapterName}: no such adapter; available: ${list}`);
  }
  if (adapterName) return usageError(`--adapter ${adapterName}: no such adapter (no adapters found). ${LAVAPIPE_HELP}`);
  return runError(`no WebGPU adapter: ${msg.split("\n")[0]}. ${LAVAPIPE_HELP}`);
}

export interface ListedAdapter {
  backend: string;
  name: string;
}

/** Parses Dawn's "Available adapters:" listing (the only enumeration Dawn's binding offers). */
export function parseAdapterList(text: string): ListedAdapter[] {
  const out: ListedAdapter[] = [];
  for (const m of text.matchAll(/backend: '([^']+)', name: '([^']*)'/g)) out.push({ backend: m[1]!, name: m[2]! });
  return out;
}

/** Lists every adapter Dawn can see (all backends), by asking for an adapter name that cannot exist. */
export async function listAdapters(create: (o: string[]) => GPU): Promise<ListedAdapter[]> {
  try {
    const root = create(["adapter=longrl-lists-adapters-no-such-name"]);
    listingRoots.push(root); // never collected: Dawn objects die badly under GC (shared/setup.md)
    await root.requestAdapter();
  } catch (err) {
    return parseAdapterList((err as Error).message ?? "");
  }
  return [];
}

async function detectBackend(create: (o: string[]) => GPU, name: string): Promise<string> {
  const listed = await listAdapters(create);
  const first = name.split(/[\s:(]/)[0]?.toLowerCase() ?? "";
  const match = listed.find((a) => a.name.toLowerCase().startsWith(first));
  return match?.backend ?? (listed.length === 1 ? listed[0]!.backend : "unknown");
}
