// How an api of the spec becomes a replica's configuration: the runtime reads environment
// variables (runtime/settings.ts), whether it runs in this process, a child, a container or a pod.
import { resolve } from 'node:path';
import { localFetchAddressesFrom, passedThrough } from '../../runtime/settings.js';
import type { ApiSpec, Spec } from '../spec/index.js';

export interface ReplicaPlacement {
  host?: string;
  port?: number;
  bundlePath?: string;
  adminToken?: string;
  /** Default: one per core of `compute.cpu` (at least one). */
  inferenceThreads?: number;
  /** Where the api's folder is, as the replica sees it. */
  apiDir?: string;
}

export { localFetchAddressesFrom as localFetchAddresses } from '../../runtime/settings.js';

/**
 * What a replica started as a process on this machine inherits from cortex's own environment
 * besides runtimeEnv: what any program needs to run here (the search path, home, locale, time
 * zone, temp folder, proxies and certificates for model downloads, Node's own options, native
 * library paths). The rest
 * of the user's environment stays out, as it does for a container or a pod: a predictor gets
 * its variables from `predictor.env`.
 */
export const hostBasics = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TMP', 'TEMP',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_V8_COVERAGE', 'UV_THREADPOOL_SIZE',
  // Native libraries: CUDA's, for onnxruntime's cuda provider, and which GPUs it may use.
  'LD_LIBRARY_PATH', 'DYLD_LIBRARY_PATH', 'CUDA_VISIBLE_DEVICES',
  'SYSTEMROOT', 'SystemRoot', 'WINDIR', 'COMSPEC', 'PATHEXT',
] as const;

/** hostBasics and LC_* from `env`: the base environment of a replica that is a local process. */
export function hostEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && ((hostBasics as readonly string[]).includes(name) || name.startsWith('LC_'))) out[name] = value;
  }
  return out;
}

export function runtimeEnv(spec: Spec, api: ApiSpec, placement: ReplicaPlacement, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = { ...api.predictor.env };
  for (const name of passedThrough) if (env[name]) out[name] = env[name]!;
  Object.assign(out, {
    CORTEX_API: api.name,
    CORTEX_DEPLOYMENT: api.deployment,
    CORTEX_API_DIR: placement.apiDir ?? spec.dir,
    CORTEX_PREDICTOR_CONFIG: JSON.stringify(api.predictor.config),
    CORTEX_MAX_CONCURRENCY: String(api.autoscaling.maxReplicaConcurrency),
    CORTEX_FETCH_ADDRESSES: localFetchAddressesFrom(env),
  });
  // Set from the spec alone, so a section removed from cortex.yaml is off whatever predictor.env says.
  delete out.CORTEX_MAX_BATCH_SIZE;
  delete out.CORTEX_BATCH_INTERVAL_MS;
  const batching = api.predictor.serverSideBatching;
  if (batching) {
    out.CORTEX_MAX_BATCH_SIZE = String(batching.maxBatchSize);
    out.CORTEX_BATCH_INTERVAL_MS = String(batching.batchIntervalMs);
  }
  if (placement.host) out.HOST = placement.host;
  if (placement.port !== undefined) out.PORT = String(placement.port);
  if (placement.bundlePath) out.CORTEX_PREDICTOR_BUNDLE = placement.bundlePath;
  if (placement.adminToken) out.CORTEX_ADMIN_TOKEN = placement.adminToken;
  out.CORTEX_INFERENCE_THREADS = String(placement.inferenceThreads ?? Math.max(1, Math.round(api.compute.cpu)));
  // Relative paths mean where the user ran cortex, wherever the replica's working directory is.
  for (const name of ['CORTEX_MODEL_MIRROR', 'CORTEX_CACHE_DIR'] as const) if (out[name]) out[name] = resolve(out[name]);
  return out;
}
