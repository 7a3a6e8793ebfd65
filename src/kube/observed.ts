// What the cluster says, in the status model's terms: a pod is a replica, an api Deployment is
// a route. Pure functions over API objects, so the gateway, the backend and their tests agree.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import type { ReplicaInfo } from '../model/backend.js';
import type { Decision } from '../scaling/loop.js';
import { containerPort } from '../../runtime/settings.js';
import { annotations, labels } from './names.js';

/** The route key of an api: its Deployment's name, unique in the namespace (api names need not be). */
export interface ApiRoute {
  key: string;
  deployment: string;
  api: string;
  endpoint: string;
}

export function apiRoute(d: V1Deployment): ApiRoute | undefined {
  const meta = d.metadata;
  const endpoint = meta?.annotations?.[annotations.endpoint];
  if (!meta?.name || !endpoint || meta.labels?.[labels.component] !== 'api') return undefined;
  return { key: meta.name, deployment: meta.labels[labels.deployment] ?? '', api: meta.labels[labels.api] ?? '', endpoint };
}

/**
 * A pod as a replica. Ready (the kubelet saw /readyz answer) and not terminating is serving; a
 * terminating pod drains and takes no new work; a container waiting in a crash loop is an error.
 */
export function podReplica(pod: V1Pod): ReplicaInfo {
  const status = pod.status;
  const container = status?.containerStatuses?.[0];
  const ready = status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const waiting = container?.state?.waiting;
  const crashed = waiting && waiting.reason !== 'ContainerCreating' && waiting.reason !== 'PodInitializing';
  return {
    id: pod.metadata!.name!,
    api: pod.metadata?.labels?.[labels.api] ?? '',
    status: pod.metadata?.deletionTimestamp ? 'stopping' : ready ? 'ready' : crashed ? 'error' : 'starting',
    url: status?.podIP ? `http://${status.podIP}:${containerPort}` : undefined,
    version: undefined,
    startedAt: new Date(status?.startTime ?? pod.metadata?.creationTimestamp ?? Date.now()),
    restarts: container?.restartCount ?? 0,
    error: crashed ? `${waiting!.reason}${waiting!.message ? `: ${waiting!.message}` : ''}` : undefined,
  };
}

/**
 * The in-cluster autoscaler's last decision on an api's Deployment (its `cortex.dev/autoscaler-decision`
 * annotation), for `cortex get` and the TUI. Undefined when there is none yet (the autoscaler has not
 * set init_replicas) or when it cannot be read.
 */
export function decisionOf(d: V1Deployment): Decision | undefined {
  const raw = d.metadata?.annotations?.[annotations.decision];
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { decision, at, facts } = value as Record<string, unknown>;
  if (typeof decision !== 'string' || typeof at !== 'string') return undefined;
  // The loop's numbers behind the decision, for a view that words it to fit its line (written by the same code that reads them).
  return typeof facts === 'object' && facts !== null ? { decision, at, facts: facts as Decision['facts'] } : { decision, at };
}
