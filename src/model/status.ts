// The one status model (Tilt's idea): the TUI, the plain line printer, `cortex get`, the
// control endpoint and the autoscaler all read these snapshots; no view derives status on its
// own. Everything here is JSON as is, so the control endpoint can send it unchanged.
//
// Tilt's split: how a replica or api runs (`runtime`: pending/ok/error, and whether it is
// ready) is kept apart from how its last code update went (`update`: none/pending/in_progress/
// ok/error). The one word each shows (`status`) is derived from both.
import type { EventEmitter } from 'node:events';
import type { ReplicaInfo, ReplicaLogLine, ReplicaStatus, SnapshotSource } from './backend.js';

/** Tilt's runtimeStatus: is it running as it should. */
export type RuntimeStatus = 'pending' | 'ok' | 'error';

/** Tilt's updateStatus: the last change of code (a save, `r`, a new config) on its way to the replicas. */
export type UpdateStatus = 'none' | 'pending' | 'in_progress' | 'ok' | 'error';

export interface ReplicaSnapshot {
  id: string;
  status: ReplicaStatus;
  runtime: RuntimeStatus;
  /** It answers predictions. */
  ready: boolean;
  url: string | null;
  version: string | null;
  startedAt: string;
  restarts: number;
  error: string | null;
  inFlight: number;
  /** Predictions this replica has answered since it (re)started. */
  requests: number;
  /** Median latency over the last minute, or null before any request. */
  p50Ms: number | null;
}

export interface ReloadSnapshot {
  version: string;
  at: string;
  /** Save (or trigger) to every replica serving the new code. */
  ms: number;
  error: { message: string; location: string | null } | null;
}

export interface TrafficSnapshot {
  /** One point a second, oldest first, the last 60 s. */
  reqPerSec: number[];
  p50Ms: Array<number | null>;
  p99Ms: Array<number | null>;
  /** The figures now: the rate over the last `windows.rateSeconds`, latencies over the last `windows.latencySeconds`. */
  now: { reqPerSec: number; p50Ms: number | null; p99Ms: number | null; avgMs: number | null };
  /** What `now` covers, in seconds, so each view can say it. */
  windows: { rateSeconds: number; latencySeconds: number };
  /** Since the session started. */
  counts: { '2xx': number; '4xx': number; '5xx': number };
}

/** The autoscaler's last word on an api, for the views. */
export interface AutoscalerDecision {
  /** The policy's reasoning: every rule that shaped the answer, in order. */
  decision: string;
  at: string;
  /** The same in numbers, for a view that words it to fit its line; absent where only the text was recorded. */
  facts?: DecisionFacts;
}

/** How long each stabilization period is, as cortex.yaml writes it ("1m"), and when the first one since the start ends (ISO). */
export interface Stabilization {
  up: { period: string; from: string };
  down: { period: string; from: string };
}

export type DecisionFacts =
  | {
      kind: 'decided';
      /** Replicas requested before the decision, and after. */
      from: number;
      to: number;
      /** What the load alone asks for: in-flight / target, within the factors and min/max. */
      wanted: number;
      avgInFlight: number;
      target: number;
      /** The bound that capped `wanted` ("max_replicas 4"). */
      limit?: string;
      /** Stabilization kept `to` from `wanted`; `sinceStart`: only because its first period has not passed. */
      held?: { direction: 'up' | 'down'; sinceStart: boolean };
      stabilization: Stabilization;
    }
  | {
      /** Tracked, but no decision yet (the first needs a window of metrics). */
      kind: 'waiting';
      nextAt: string;
      stabilization: Stabilization;
    };

/** Cortex's api status words. */
export type ApiStatus = 'live' | 'updating' | 'starting' | 'error';

export interface ApiSnapshot {
  name: string;
  deployment: string;
  endpoint: string;
  status: ApiStatus;
  runtime: RuntimeStatus;
  update: UpdateStatus;
  requested: number;
  /** Replicas that answer requests. */
  available: number;
  /** Replicas serving the current predictor version. */
  upToDate: number;
  version: string | null;
  lastReload: ReloadSnapshot | null;
  /** When the code it serves now began serving: the last good reload, or the start. */
  updatedAt: string;
  autoscaler: AutoscalerDecision | null;
  replicas: ReplicaSnapshot[];
  traffic: TrafficSnapshot;
}

export interface SessionSnapshot {
  pid: number;
  dir: string;
  backend: { name: SnapshotSource; description: string };
  gateway: string;
  startedAt: string;
  /** The last cortex.yaml save that could not be applied (the previous spec still runs), until a good one. */
  specError: { message: string; at: string } | null;
  apis: ApiSnapshot[];
}

export function isServing(status: ReplicaStatus): boolean {
  return status === 'ready' || status === 'reloading';
}

/** A replica's runtime phase: a stopping replica still runs (it drains) until it is deleted. */
export function runtimeOf(status: ReplicaStatus): RuntimeStatus {
  if (status === 'error') return 'error';
  return status === 'starting' ? 'pending' : 'ok';
}

/** An api's runtime from its status word: live is ok, error is error, starting and updating wait. */
export function apiRuntimeOf(status: ApiStatus): RuntimeStatus {
  return status === 'live' ? 'ok' : status === 'error' ? 'error' : 'pending';
}

/**
 * The api's status from its replicas, in Cortex's order (getStatusCode): live once enough
 * up-to-date replicas serve; error when a replica fails; live again at min_replicas; else
 * starting (nothing serves yet) or updating.
 */
export function apiStatus(replicas: ReadonlyArray<Pick<ReplicaInfo, 'status' | 'version'>>, requested: number, version: string | null, minReplicas: number): ApiStatus {
  const upToDate = replicas.filter((r) => r.status === 'ready' && r.version === version).length;
  if (upToDate >= requested) return 'live';
  if (replicas.some((r) => r.status === 'error')) return 'error';
  if (upToDate >= minReplicas) return 'live';
  return replicas.some((r) => isServing(r.status)) ? 'updating' : 'starting';
}

/**
 * What a stopping session still waits for: replicas that served, which drain their requests,
 * and replicas that never did (in init, or between restarts), which are killed at once.
 */
export function stoppingReplicas(apis: ReadonlyArray<Pick<ApiSnapshot, 'replicas'>>): { draining: number; inInit: number } {
  const replicas = apis.flatMap((a) => a.replicas);
  const inInit = replicas.filter((r) => r.version === null).length;
  return { draining: replicas.length - inInit, inInit };
}

export interface SessionEvents {
  /** Something in the snapshot changed. */
  change: [];
  /** A line from a replica (or from the session itself, replica "cortex"). */
  log: [ReplicaLogLine];
}

/** What views (TUI, line printer, control endpoint) hold of a running dev session. */
export interface SessionView extends EventEmitter<SessionEvents> {
  snapshot(): SessionSnapshot;
  /**
   * The lines logged before the view could listen (the first apply's notes, the first replicas'
   * start-up), once: the view that asks first prints them before it subscribes to 'log'.
   */
  earlyLogs(): ReplicaLogLine[];
  /** Rebuilds and pushes every api's predictor now (the TUI's `r`). */
  reloadNow(): Promise<void>;
  /** Stops everything; resolves when no replica is left. */
  stop(): Promise<void>;
}
