// The CUDA variant of the runtime image, for apis with `compute.gpu > 0` (the eks profile runs them
// with CORTEX_EXECUTION_PROVIDERS=cuda,cpu). The same context as the CPU image (context.ts), on
// NVIDIA's CUDA 13 + cuDNN 9 runtime, with Node's own binary copied from the official Node image,
// and onnxruntime-node's CUDA provider libraries fetched by onnxruntime-node's own installer while
// the image builds, on the user's machine. npm leaves those libraries out (they are too large for
// its registry) and cortex's install skips them (.npmrc: onnxruntime-node-install=skip).
// A pure renderer: building and pushing it is the caller's.
//
// Why CUDA 13: the installer fetches NuGet's Microsoft.ML.OnnxRuntime.Gpu.Linux of onnxruntime-node's
// exact version from nuget.org, and since onnxruntime 1.27 the default GPU packages there (as on PyPI
// and for npm) are built for CUDA 13 (microsoft/onnxruntime#29032; the CUDA 12 builds moved to a
// feed of their own, onnxruntime-cuda-12, which the installer does not read). The installer still
// calls its manifest "cuda12": a legacy name. On a CUDA 12 base the provider would miss
// libcublasLt.so.13 and the rest, which the library check below catches, failing the build.
// CUDA 13.0 rather than a later 13.x: it asks the least of the node's driver (≥ 580).
import { UserError } from '../user-error.js';
import { registryBase } from './base.js';
import { containerPort, imageUser, type RuntimeContext, type Target } from './context.js';

/** NVIDIA's runtime image: CUDA 13.0 with cuBLAS, cuFFT, cuRAND and cuDNN 9, the libraries onnxruntime's CUDA provider links. */
export const cudaBase = 'nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04';

export interface CudaBases {
  /** The CUDA runtime base. */
  cuda: string;
  /** Where the node binary comes from: the official image of the Node that runs cortex. */
  node: string;
}

export const defaultCudaBases = (nodeVersion: string = process.versions.node): CudaBases => ({ cuda: cudaBase, node: registryBase(nodeVersion) });

/**
 * onnxruntime-node's installer switch for its CUDA provider libraries (script/install-utils.js in
 * 1.30: `ONNXRUNTIME_NODE_INSTALL_CUDA=v12` → the "cuda12" manifest, installed even when run outside
 * npm; the names are legacy, what it downloads is the CUDA 13 build). Its newer
 * `ONNXRUNTIME_NODE_INSTALL=cuda12` spelling is not used: in 1.30 the parser drops a named value and
 * falls back to "install only if missing".
 */
export const ortCudaInstall = 'ONNXRUNTIME_NODE_INSTALL_CUDA=v12';

/** The provider libraries that installer puts beside libonnxruntime, for linux-x64 (the only platform it has CUDA ones for). */
export const ortCudaLibraries = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'] as const;

/** onnxruntime-node's folder in the image, from where the context put its package.json. */
export function ortPackageDir(files: RuntimeContext['files']): string {
  const manifest = files.find((f) => /(?:^|\/)node_modules\/onnxruntime-node\/package\.json$/.test(f.path));
  if (!manifest) throw new UserError('the runtime image context has no onnxruntime-node: run npm ci');
  return `/app/${manifest.path.slice(0, -'/package.json'.length)}`;
}

/** The CUDA variant's Dockerfile. Labels come last, as in the CPU image's. */
export function cudaDockerfile(
  context: Pick<RuntimeContext, 'files' | 'generated' | 'workdir' | 'entry'>,
  bases: CudaBases = defaultCudaBases(),
  labels: Record<string, string> = {},
  target: Target = 'linux-x64',
): string {
  if (target !== 'linux-x64') throw new UserError(`the CUDA runtime image is for linux-x64 only (onnxruntime-node has CUDA provider libraries for no other platform), not ${target}`);
  const ortDir = ortPackageDir(context.files);
  const libDir = `${ortDir}/bin/napi-v6/linux/x64`;
  const tops = new Set([...context.files, ...context.generated].map((f) => f.path.split('/')[0]!));
  // As in the CPU image: the dependencies first (the CUDA libraries are added to that layer's
  // folder next), so a runtime change reuses both layers.
  const rest = [...tops].filter((top) => top !== 'node_modules').sort();
  const label = Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return [
    `FROM ${bases.node} AS node`,
    `FROM ${bases.cuda}`,
    '# Node: the official binary (it needs only glibc, libstdc++ and libgcc, which the base has).',
    'COPY --from=node /usr/local/bin/node /usr/local/bin/node',
    'ENV NODE_ENV=production',
    ...(tops.has('node_modules') ? ['COPY node_modules /app/node_modules'] : []),
    "# onnxruntime-node's own installer fetches its CUDA provider libraries (NuGet, the package of its exact version: a CUDA 13 build).",
    `RUN cd ${ortDir} && ${ortCudaInstall} node script/install.js`,
    "# Fails the build, naming what is missing, unless every library the CUDA provider links is in the base;",
    "# libcuda.so.1 is the driver's (580 or later for CUDA 13), mounted into the container at run time by the NVIDIA runtime.",
    `RUN set -e; cd ${libDir}; for lib in ${ortCudaLibraries.slice(0, 2).join(' ')}; do test -f "$lib" || { echo "onnxruntime-node's installer did not install $lib" >&2; exit 1; }; done; ` +
      `missing="$(ldd libonnxruntime_providers_cuda.so | grep 'not found' | grep -v 'libcuda\\.so\\.1' || true)"; ` +
      `if [ -n "$missing" ]; then echo "libonnxruntime_providers_cuda.so cannot load here: $missing" >&2; exit 1; fi`,
    ...rest.map((top) => `COPY ${top} /app/${top}`),
    `WORKDIR ${context.workdir}`,
    "# Fails the build with Node's own error when the base cannot load the native modules.",
    `RUN ["node", "-e", "require('onnxruntime-node'); require('sharp')"]`,
    '# Not root, and by number: Kubernetes can check runAsNonRoot only against a numeric user.',
    `USER ${imageUser}`,
    '# A home any user can write: onnxruntime keeps an ID there.',
    'ENV HOME=/tmp',
    '# What the eks profile sets for a GPU api; a pod (or docker run -e) can still say otherwise.',
    'ENV CORTEX_EXECUTION_PROVIDERS=cuda,cpu',
    `EXPOSE ${containerPort}`,
    `ENTRYPOINT ["node", "${context.entry}"]`,
    ...(label.length ? [`LABEL ${label.join(' ')}`] : []),
    '',
  ].join('\n');
}
