// The standalone runtime is configured by environment variables, the same way in a child
// process, a container and a Kubernetes pod.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { JsonValue } from './contract.js';
import { replicaDefaults, type ReplicaSettings } from './replica.js';

export interface RuntimeSettings extends ReplicaSettings {
  host: string;
  port: number;
  /** The bundle to load at start; without one the replica waits for PUT /-/predictor. */
  bundlePath?: string;
  config: Record<string, JsonValue>;
  /** How long SIGTERM waits for in-flight requests before the process exits anyway. */
  drainTimeoutMs: number;
  /** How long a request (headers and body) may take to arrive before it is answered 408. */
  bodyTimeoutMs: number;
}

/** A setting the person running the replica can fix: its message names the variable and what it allows. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new SettingsError(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  return n;
}

/** Read on both sides of a hot swap: by the replica, and by the dev loop that waits for it. */
export function initTimeoutFrom(env: NodeJS.ProcessEnv): number {
  return int(env, 'CORTEX_INIT_TIMEOUT_MS', replicaDefaults.initTimeoutMs, 1);
}

export function drainTimeoutFrom(env: NodeJS.ProcessEnv): number {
  return int(env, 'CORTEX_DRAIN_TIMEOUT_MS', 30_000, 1);
}

/** Read by the replica's server and by the dev gateway in front of it. */
export function bodyTimeoutFrom(env: NodeJS.ProcessEnv): number {
  return int(env, 'CORTEX_BODY_TIMEOUT_MS', 10_000, 1);
}

/** The largest prediction body: the replica refuses more, and the dev gateway buffers no more. */
export function bodyLimitFrom(env: NodeJS.ProcessEnv): number {
  return int(env, 'CORTEX_BODY_LIMIT', replicaDefaults.bodyLimit, 1);
}

export function cacheDirFrom(env: NodeJS.ProcessEnv): string {
  return env.CORTEX_CACHE_DIR || join(homedir(), '.cache', 'cortex');
}

export function settingsFromEnv(env: NodeJS.ProcessEnv): RuntimeSettings {
  let config: Record<string, JsonValue> = {};
  if (env.CORTEX_PREDICTOR_CONFIG) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.CORTEX_PREDICTOR_CONFIG);
    } catch {
      // reported below
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SettingsError('CORTEX_PREDICTOR_CONFIG must be a JSON object');
    config = parsed as Record<string, JsonValue>;
  }
  return {
    host: env.HOST || '0.0.0.0',
    port: int(env, 'PORT', 8080),
    bundlePath: env.CORTEX_PREDICTOR_BUNDLE || undefined,
    config,
    drainTimeoutMs: drainTimeoutFrom(env),
    bodyTimeoutMs: bodyTimeoutFrom(env),
    api: { name: env.CORTEX_API || 'api', deployment: env.CORTEX_DEPLOYMENT || 'default' },
    assets: {
      baseDir: env.CORTEX_API_DIR || process.cwd(),
      cacheDir: cacheDirFrom(env),
      mirrorDir: env.CORTEX_MODEL_MIRROR || undefined,
      downloadTimeoutMs: int(env, 'CORTEX_DOWNLOAD_TIMEOUT_MS', 300_000, 1),
    },
    adminToken: env.CORTEX_ADMIN_TOKEN || undefined,
    maxConcurrency: int(env, 'CORTEX_MAX_CONCURRENCY', replicaDefaults.maxConcurrency, 1),
    predictTimeoutMs: int(env, 'CORTEX_PREDICT_TIMEOUT_MS', replicaDefaults.predictTimeoutMs, 1),
    initTimeoutMs: initTimeoutFrom(env),
    bodyLimit: bodyLimitFrom(env),
    inferenceThreads: int(env, 'CORTEX_INFERENCE_THREADS', replicaDefaults.inferenceThreads, 1),
    processMetrics: true,
  };
}
