// How an api of the spec becomes a replica's configuration: the runtime reads environment
// variables (runtime/settings.ts), whether it runs in this process, a child, a container or a pod.
import { resolve } from 'node:path';
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

const passedThrough = [
  'CORTEX_MODEL_MIRROR',
  'CORTEX_CACHE_DIR',
  'CORTEX_PREDICT_TIMEOUT_MS',
  'CORTEX_INIT_TIMEOUT_MS',
  'CORTEX_THREAD_BLOCKED_MS',
  'CORTEX_DRAIN_TIMEOUT_MS',
  'CORTEX_BODY_LIMIT',
  'CORTEX_BODY_TIMEOUT_MS',
  'CORTEX_LOG_LEVEL',
  'CORTEX_DOWNLOAD_TIMEOUT_MS',
  'CORTEX_MAX_IMAGE_PIXELS',
  'CORTEX_DECODE_BUDGET_MIB',
  'CORTEX_FETCH_ALLOW',
];

/**
 * The runtime alone fetches only public addresses; on the developer's machine the photos are
 * often on localhost or the LAN, and a container reaches the host at a private address
 * (host.docker.internal), so `cortex dev` and `serve` allow any unless told otherwise.
 */
export function localFetchAddresses(env: NodeJS.ProcessEnv = process.env): string {
  return env.CORTEX_FETCH_ADDRESSES || 'any';
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
    CORTEX_FETCH_ADDRESSES: localFetchAddresses(env),
  });
  if (placement.host) out.HOST = placement.host;
  if (placement.port !== undefined) out.PORT = String(placement.port);
  if (placement.bundlePath) out.CORTEX_PREDICTOR_BUNDLE = placement.bundlePath;
  if (placement.adminToken) out.CORTEX_ADMIN_TOKEN = placement.adminToken;
  out.CORTEX_INFERENCE_THREADS = String(placement.inferenceThreads ?? Math.max(1, Math.round(api.compute.cpu)));
  // Relative paths mean where the user ran cortex, wherever the replica's working directory is.
  for (const name of ['CORTEX_MODEL_MIRROR', 'CORTEX_CACHE_DIR'] as const) if (out[name]) out[name] = resolve(out[name]);
  return out;
}
