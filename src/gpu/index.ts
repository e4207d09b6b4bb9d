// The GPU runtime's public surface: import from here, not from the files behind it.
export { acquireGpu, releaseGpu, checkGpu, listAdapters, maxBindingBytes, BACKENDS, LAVAPIPE_HELP } from "./context.ts";
export type { Gpu, GpuOptions, AdapterSummary } from "./context.ts";
export { shader, getPipeline, compilePipelines, pipelineKey } from "./pipeline.ts";
export type { Shader, Constants } from "./pipeline.ts";
export { dispatch, flush, sync, foldGrid } from "./recorder.ts";
export { canProfile, startProfile, stopProfile, profileStage, profilePart, formatProfile } from "./profile.ts";
export type { OpTime } from "./profile.ts";
export type { Binding, DispatchSpec } from "./recorder.ts";
export { createTensor, tensorFrom, writeTensor, writeTensorAt, readTensor, readTensorRange, readScalar, releaseTensor, copyTensor, copyRows, prefixView, zeroTensor, reshape, numel, shapeString, trimPool } from "./tensor.ts";
export type { Tensor, DType, HostArray } from "./tensor.ts";
export { packParams } from "./params.ts";
