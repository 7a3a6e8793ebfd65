// The pure snapshot builder: what the backend, the session and the metrics collector know,
// in; the one status model every view reads, out. No I/O and no clock of its own, so the same
// function serves the dev session, and later `cortex get --cloud` and the in-cluster autoscaler.
import type { ApiSpec } from '../spec/index.js';
import type { ReplicaInfo } from './backend.js';
import {
  apiRuntimeOf,
  apiStatus,
  isServing,
  runtimeOf,
  type ApiSnapshot,
  type AutoscalerDecision,
  type ReloadSnapshot,
  type ReplicaSnapshot,
  type SessionSnapshot,
  type TrafficSnapshot,
  type UpdateStatus,
} from './status.js';

/** A replica's figures from the metrics collector. */
export interface ReplicaFigures {
  inFlight: number;
  requests: number;
  p50Ms: number | null;
}

/**
 * What the snapshot reads of an api's spec: a dev session has the whole of cortex.yaml, `cortex get
 * --cloud` only what the cluster's objects say (labels, the endpoint and autoscaling annotations).
 */
export type ApiIdentity = Pick<ApiSpec, 'name' | 'deployment' | 'networking'> & { autoscaling: Pick<ApiSpec['autoscaling'], 'minReplicas'> };

export interface ApiFacts {
  spec: ApiIdentity;
  /** The version the api should serve (the last one that built and loaded). */
  version: string;
  lastReload: ReloadSnapshot | null;
  update: UpdateStatus;
  updatedAt: Date;
  autoscaler: AutoscalerDecision | null;
  replicas: ReplicaInfo[];
  requested: number;
  traffic: TrafficSnapshot;
}

/** The session's own fields as the snapshot has them, but its start as a Date, and its apis as facts. */
export interface SessionFacts extends Omit<SessionSnapshot, 'startedAt' | 'apis'> {
  startedAt: Date;
  apis: ApiFacts[];
  figures(replica: string): ReplicaFigures;
}

export function replicaSnapshot(r: ReplicaInfo, figures: ReplicaFigures): ReplicaSnapshot {
  return {
    id: r.id,
    status: r.status,
    runtime: runtimeOf(r.status),
    ready: isServing(r.status),
    url: r.url ?? null,
    version: r.version ?? null,
    startedAt: r.startedAt.toISOString(),
    restarts: r.restarts,
    error: r.error ?? null,
    ...figures,
  };
}

export function apiSnapshot(api: ApiFacts, gateway: string, figures: (replica: string) => ReplicaFigures): ApiSnapshot {
  const { spec, replicas, requested, version } = api;
  const status = apiStatus(replicas, requested, version, spec.autoscaling.minReplicas);
  return {
    name: spec.name,
    deployment: spec.deployment,
    endpoint: `${gateway}${spec.networking.endpoint}`,
    status,
    runtime: apiRuntimeOf(status),
    update: api.update,
    requested,
    available: replicas.filter((r) => isServing(r.status)).length,
    upToDate: replicas.filter((r) => r.status === 'ready' && r.version === version).length,
    version,
    lastReload: api.lastReload,
    updatedAt: api.updatedAt.toISOString(),
    autoscaler: api.autoscaler,
    replicas: replicas.map((r) => replicaSnapshot(r, figures(r.id))),
    traffic: api.traffic,
  };
}

export function buildSnapshot(facts: SessionFacts): SessionSnapshot {
  return {
    pid: facts.pid,
    dir: facts.dir,
    backend: facts.backend,
    gateway: facts.gateway,
    startedAt: facts.startedAt.toISOString(),
    specError: facts.specError,
    apis: facts.apis.map((api) => apiSnapshot(api, facts.gateway, (id) => facts.figures(id))),
  };
}
