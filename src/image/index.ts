// The runtime image: what goes in, which base it builds on, and the build itself.
export { chooseBase, referenceProblem, registryBase, type BaseImage, type BaseKind } from './base.js';
export { CudaImageUnavailable, cudaRepository, ensureCudaImage, ensureRuntimeImage, runtimeImageTag, runtimeRepository, type CudaImage, type CudaImageOptions, type RuntimeImage, type RuntimeImageOptions } from './build.js';
export { containerPort, contextDigest, dockerfile, runtimeContext, type RuntimeContext } from './context.js';
export { cudaBase, cudaDockerfile, defaultCudaBases, type CudaBases } from './cuda.js';
export { clusterDependencies, runtimeDependencies } from './dependencies.js';
export { connectDocker, dockerUnavailableReason } from './docker-client.js';
export { offlineBaseRepository } from './offline-base.js';
export { daemonPlatformProblem, eksImageProblem, platformProblem, type DaemonPlatform, type HostPlatform } from './platform.js';
export type { ImageEvent } from './progress.js';
