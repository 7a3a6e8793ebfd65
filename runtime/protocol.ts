// The wire protocol of a replica, imported by both ends (KServe's idea): the runtime's routes
// answer with these bodies, and every client (the dev loop's backends, the gateway, the metrics
// collector, later the in-cluster autoscaler) reads them through these types instead of
// re-declaring them. Types and a few constants only: importing this loads nothing.
import type { JsonValue } from './contract.js';

/** Paths every replica serves. */
export const paths = {
  predict: '/',
  live: '/healthz',
  ready: '/readyz',
  metrics: '/metrics',
  /** The hot swap (control plane), guarded by `Authorization: Bearer <admin token>`. */
  predictor: '/-/predictor',
} as const;

// ---- control plane: PUT /-/predictor -------------------------------------------------------

/** PUT /-/predictor body: an ESM bundle and the config its init gets. */
export interface PredictorPut {
  code: string;
  config: Record<string, JsonValue>;
}

/** 200: the new bundle loaded, passed init and warm-up, and serves from now on. */
export interface ReloadAccepted {
  version: string;
  init_ms: number;
}

/** 422: the bundle failed to load or init; the old code keeps serving. */
export interface ReloadRefused {
  error: string;
  /** The version that was refused. */
  version: string;
  /** file:line:column in the predictor, when the error has one. */
  location: string | null;
  request_id?: string;
}

export const reloadRefusedStatus = 422;

/** GET /-/predictor: what serves now. */
export type PredictorState = { version: string; loaded_at: string; init_ms: number } | { version: null };

/**
 * The admin token's own header, accepted beside `Authorization: Bearer`: the Kubernetes API
 * server takes the Authorization header for itself and drops it from what its pod proxy
 * forwards, so a hot swap through the proxy carries the token here.
 */
export const adminTokenHeader = 'x-cortex-admin-token';

// ---- health: GET /readyz -------------------------------------------------------------------

/** 200 once a predictor has finished init and warm-up. */
export interface Ready {
  ready: true;
  version: string;
  loaded_at: string;
  /** The models this replica has loaded, each with the execution provider that really runs it. */
  models: LoadedModel[];
}

/** A model in the replica's inference threads (`/readyz`, the `cortex_model_info` metric, the log). */
export interface LoadedModel {
  /** What the predictor passed to loadModel: a URL or a path. */
  model: string;
  /** `cuda` when CUDA took any of the model's nodes (onnxruntime runs the ones it cannot take on the CPU). */
  provider: string;
  /** The providers asked for, in order of preference (CORTEX_EXECUTION_PROVIDERS). */
  requested: string[];
  /** The model's nodes per provider, from a profiled warm-up; only when more than `cpu` was asked for. */
  nodes?: Record<string, number>;
  /** Why a provider asked for ahead of `provider` does not run the model, in onnxruntime's words. */
  fallback?: string;
}

/** 503 before that: `error` says why (the init error, or still loading). */
export interface NotReady {
  ready: false;
  error: string;
}

export type Readiness = Ready | NotReady;

/** The reason a replica gives while its first predictor loads. */
export const stillLoading = 'the predictor is still loading';

// ---- data plane: the 503 rule --------------------------------------------------------------

/**
 * A replica refuses new work with 503 in two cases, told apart by Retry-After: an overloaded one
 * (max_replica_concurrency, or no predictor yet) sends Retry-After: ask again later; a draining
 * one (SIGTERM, Fastify's return503OnClosing) sends none: the request has not run, so another
 * replica can take it at once. The gateway retries the second kind elsewhere.
 */
export function isDrainRefusal(status: number | undefined, headers: Record<string, string | string[] | undefined>): boolean {
  return status === 503 && !headers['retry-after'];
}

// ---- metrics: GET /metrics -----------------------------------------------------------------

/** The metric names clients read; runtime/metrics.ts registers them under these names. */
export const metricNames = {
  requests: 'cortex_requests_total',
  duration: 'cortex_request_duration_seconds',
  inFlight: 'cortex_in_flight_requests',
  abandoned: 'cortex_abandoned_predictions',
  predictor: 'cortex_predictor_info',
  reloads: 'cortex_predictor_reloads_total',
  strayErrors: 'cortex_unhandled_errors_total',
  /** 1 for each loaded model, labelled with the execution provider that really runs it. */
  model: 'cortex_model_info',
  /** Rows of each inference run, by model: above 1 when server-side batching put calls together. */
  batchSize: 'cortex_batch_size',
} as const;

/** GET /metrics with `Accept: application/json`: prom-client's getMetricsAsJSON, one family a metric. */
export interface MetricFamily {
  name: string;
  type: string;
  values: MetricValue[];
}

export interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  /** For histograms: which series (`…_bucket`, `…_sum`, `…_count`). */
  metricName?: string;
}
