// The standalone runtime is configured by environment variables, the same way in a child
// process, a container and a Kubernetes pod. This file is the one place a CORTEX_* variable is
// read (by a function of `env`, so tests and threads pass their own) and the one list of those
// that the person running cortex may set and every backend passes on to replicas.
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { BlockList, isIP } from 'node:net';
import type { InitContext, JsonValue } from './contract.js';
import type { AssetSettings } from './helpers/assets.js';
import type { BatchSettings } from './inference/pool.js';

// What one replica needs, however it is started; the standalone runtime reads it from the environment.
/** The port the runtime listens on inside a container (the image's EXPOSE, a pod's containerPort). */
export const containerPort = 8080;

export interface ReplicaSettings {
  api: InitContext['api'];
  assets: AssetSettings;
  /** Enables PUT /-/predictor when set. */
  adminToken?: string;
  maxConcurrency: number;
  predictTimeoutMs: number;
  /** How long a bundle's loading and init may take before it is refused. */
  initTimeoutMs: number;
  /** A predictor thread that gives no sign of life this long while loading is stuck in synchronous code. */
  blockedThreadMs: number;
  bodyLimit: number;
  inferenceThreads: number;
  /** onnxruntime execution providers, in order of preference (CORTEX_EXECUTION_PROVIDERS). */
  executionProviders: ExecutionProvider[];
  /** Process-wide CPU/memory metrics: on for a standalone replica, off when several share a process. */
  processMetrics: boolean;
  /** `predictor.server_side_batching` (CORTEX_MAX_BATCH_SIZE, CORTEX_BATCH_INTERVAL_MS); none: every call runs alone. */
  batching?: BatchSettings;
}

export const replicaDefaults = {
  maxConcurrency: 1024,
  predictTimeoutMs: 60_000,
  // Generous: init may download a model.
  initTimeoutMs: 300_000,
  blockedThreadMs: 10_000,
  bodyLimit: 8 * 1024 * 1024,
  inferenceThreads: availableParallelism(),
  executionProviders: ['cpu'] as ExecutionProvider[],
};

export interface RuntimeSettings extends ReplicaSettings {
  host: string;
  port: number;
  /** Where clients reach this replica when that is not where it listens: a container's published port. */
  publicUrl?: string;
  /** The bundle to load at start; without one the replica waits for PUT /-/predictor. */
  bundlePath?: string;
  config: Record<string, JsonValue>;
  /** How long SIGTERM waits for in-flight requests before the process exits anyway. */
  drainTimeoutMs: number;
  /** How long a request (headers and body) may take to arrive before it is answered 408. */
  bodyTimeoutMs: number;
  /** Read here so a bad value stops the replica at start; the helpers read them in their own thread. */
  images: ImageLimits;
  fetch: FetchPolicy;
}

export interface ImageLimits {
  /** Width × height of the page decoded; more is refused before decoding. */
  maxPixels: number;
  /** The decode memory in flight at once per thread; decodes past it wait their turn. */
  decodeBudgetBytes: number;
}

/**
 * 50 MP takes 48 MP phone photos; 320 MiB of decodes in flight, on a replica that idles near
 * 160 MiB, leaves room in the example's `mem: 1Gi` for request bodies and the heap.
 */
export const imageDefaults: ImageLimits = { maxPixels: 50_000_000, decodeBudgetBytes: 320 * 1024 * 1024 };

export interface FetchPolicy {
  /** `public`: only public unicast addresses (and `allow`); `any`: every address, for dev. */
  addresses: 'public' | 'any';
  /** Addresses and CIDR ranges fetched even under `public` (CORTEX_FETCH_ALLOW). */
  allow: BlockList;
}

/**
 * The variables a backend passes from the environment cortex runs in to every replica it
 * starts (child process, container, pod), unchanged. The others are set by the backend itself
 * from the spec and the replica's placement (src/backends/runtime-env.ts), or describe the machine
 * cortex runs on (CORTEX_HOME, CORTEX_FETCH_ADDRESSES, read there).
 */
export const passedThrough = [
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
  'CORTEX_EXECUTION_PROVIDERS',
] as const;

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

/** Image helpers run wherever the predictor does (any thread), so they read these themselves. */
export function imageLimitsFrom(env: NodeJS.ProcessEnv): ImageLimits {
  return {
    maxPixels: int(env, 'CORTEX_MAX_IMAGE_PIXELS', imageDefaults.maxPixels, 1),
    decodeBudgetBytes: int(env, 'CORTEX_DECODE_BUDGET_MIB', imageDefaults.decodeBudgetBytes / 1024 / 1024, 1) * 1024 * 1024,
  };
}

/**
 * Unset means `public`: a pod must not be turned into a way into its cluster's network or
 * the cloud's metadata service. `cortex dev` and `serve` pass `any`: people fetch their own photos.
 */
export function fetchPolicyFrom(env: NodeJS.ProcessEnv): FetchPolicy {
  const addresses = env.CORTEX_FETCH_ADDRESSES || 'public';
  if (addresses !== 'public' && addresses !== 'any') throw new SettingsError(`CORTEX_FETCH_ADDRESSES must be "public" or "any", got "${addresses}"`);
  const allow = new BlockList();
  for (const entry of (env.CORTEX_FETCH_ALLOW ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? (family === 6 ? 128 : 32) : Number(prefix);
    if (!family || extra !== undefined || !Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) {
      throw new SettingsError(`CORTEX_FETCH_ALLOW must be comma-separated IP addresses or CIDR ranges (10.0.0.0/8, fd00::/8), got "${entry}"`);
    }
    allow.addSubnet(address, bits, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { addresses, allow };
}

/**
 * Server-side batching, set by backends from `predictor.server_side_batching`: both variables or
 * neither. The interval may be fractional (`batch_interval: 500us` is 0.5) and 0 (batch only
 * what queues while the threads are busy).
 */
export function batchingFrom(env: NodeJS.ProcessEnv): BatchSettings | undefined {
  const size = env.CORTEX_MAX_BATCH_SIZE;
  const interval = env.CORTEX_BATCH_INTERVAL_MS;
  if (!size && !interval) return undefined;
  if (!size || !interval) {
    throw new SettingsError(`CORTEX_MAX_BATCH_SIZE and CORTEX_BATCH_INTERVAL_MS go together (predictor.server_side_batching's max_batch_size and batch_interval): ${size ? 'CORTEX_BATCH_INTERVAL_MS' : 'CORTEX_MAX_BATCH_SIZE'} is missing`);
  }
  const maxBatchSize = int(env, 'CORTEX_MAX_BATCH_SIZE', 1, 1);
  const intervalMs = Number(interval);
  if (!Number.isFinite(intervalMs) || intervalMs < 0 || intervalMs > 60_000) throw new SettingsError(`CORTEX_BATCH_INTERVAL_MS must be a number of milliseconds from 0 to 60000, got "${interval}"`);
  return { maxBatchSize, intervalMs };
}

/** The onnxruntime execution providers a replica may ask for. */
export const executionProviders = ['cuda', 'cpu'] as const;
export type ExecutionProvider = (typeof executionProviders)[number];

/**
 * onnxruntime execution providers, in order of preference: `cpu` unless told (`cuda,cpu` on a GPU
 * node, set by the eks profile). A model is served by the first that works, so `cpu` can only be
 * last; a list without it means no CPU fallback (a model CUDA cannot take fails to load).
 */
export function executionProvidersFrom(env: NodeJS.ProcessEnv): ExecutionProvider[] {
  const raw = env.CORTEX_EXECUTION_PROVIDERS;
  if (raw === undefined || raw.trim() === '') return ['cpu'];
  const names = raw.split(',').map((name) => name.trim().toLowerCase());
  const bad = (why: string) => new SettingsError(`CORTEX_EXECUTION_PROVIDERS must be ${executionProviders.join(' and/or ')}, comma-separated in order of preference (cuda,cpu on a GPU node): ${why}, got "${raw}"`);
  for (const name of names) {
    if (!(executionProviders as readonly string[]).includes(name)) throw bad(name ? `"${name}" is not one of them` : 'an empty entry');
  }
  if (new Set(names).size !== names.length) throw bad('a provider is named twice');
  if (names.indexOf('cpu') >= 0 && names.indexOf('cpu') !== names.length - 1) throw bad('cpu always works, so it can only be last');
  return names as ExecutionProvider[];
}

/** The name a container reaches the machine it runs on by (set by the docker backend), for error messages. */
export function hostGatewayFrom(env: NodeJS.ProcessEnv): string | undefined {
  return env.CORTEX_HOST_GATEWAY || undefined;
}

/** pino's level for the replica's log. */
export function logLevelFrom(env: NodeJS.ProcessEnv): string {
  return env.CORTEX_LOG_LEVEL ?? 'info';
}

/**
 * The runtime alone fetches only public addresses; on the developer's machine the photos are
 * often on localhost or the LAN, and a container reaches the host at a private address
 * (host.docker.internal), so `cortex dev` and `serve` allow any unless told otherwise.
 */
export function localFetchAddressesFrom(env: NodeJS.ProcessEnv = process.env): string {
  return env.CORTEX_FETCH_ADDRESSES || 'any';
}

/** Where the dev session's file lives (`cortex dev` and the commands that talk to it). */
export function cortexHomeFrom(env: NodeJS.ProcessEnv): string {
  return env.CORTEX_HOME || join(homedir(), '.cortex');
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
    ...(env.CORTEX_PUBLIC_URL ? { publicUrl: env.CORTEX_PUBLIC_URL } : {}),
    bundlePath: env.CORTEX_PREDICTOR_BUNDLE || undefined,
    config,
    drainTimeoutMs: drainTimeoutFrom(env),
    bodyTimeoutMs: bodyTimeoutFrom(env),
    images: imageLimitsFrom(env),
    fetch: fetchPolicyFrom(env),
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
    blockedThreadMs: int(env, 'CORTEX_THREAD_BLOCKED_MS', replicaDefaults.blockedThreadMs, 1),
    bodyLimit: bodyLimitFrom(env),
    inferenceThreads: int(env, 'CORTEX_INFERENCE_THREADS', replicaDefaults.inferenceThreads, 1),
    executionProviders: executionProvidersFrom(env),
    processMetrics: true,
    ...(batchingFrom(env) ? { batching: batchingFrom(env)! } : {}),
  };
}

/** The cluster components (gateway, autoscaler): which namespace they serve, and the gateway's port. */
export function clusterSettingsFrom(env: NodeJS.ProcessEnv): { namespace: string; port: number } {
  return { namespace: env.CORTEX_NAMESPACE || 'cortex', port: int(env, 'PORT', 8888) };
}
