// Where a rollout stands, from the objects alone (pure, so a table of cases tests it): per
// Deployment cortex applied, ready pods against the replicas asked for, and for each pod that
// holds it up, why, in the cluster's own words (Unschedulable with the scheduler's message,
// ImagePullBackOff, CrashLoopBackOff, OOMKilled…). `cortex deploy --cloud` waits on it and shows it.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { decisionOf } from './observed.js';
import { labels } from './names.js';

export interface PodProblem {
  pod: string;
  /** The cluster's reason, e.g. Unschedulable, ImagePullBackOff, CrashLoopBackOff, NotReady. */
  reason: string;
  message?: string;
}

export interface Rollout {
  /** The Deployment's name. */
  name: string;
  /** The api's name, or the component (gateway, autoscaler). */
  label: string;
  /** Replicas asked for: the in-cluster autoscaler's count once it has decided, else init_replicas. */
  requested: number;
  ready: number;
  /** Pods of the current pod template. */
  updated: number;
  /** Pods of an older template still running (they go as new ones become ready). */
  old: number;
  /** For an api: the autoscaler has not yet set its replicas. */
  awaitingAutoscaler: boolean;
  done: boolean;
  problems: PodProblem[];
}

// Waiting reasons that are a pod on its way, not a pod in trouble.
const starting = new Set(['ContainerCreating', 'PodInitializing']);

/** Why a pod does not serve yet, if there is more to say than "starting". */
export function podProblem(pod: V1Pod): PodProblem | undefined {
  const name = pod.metadata?.name ?? '?';
  if (pod.metadata?.deletionTimestamp) return undefined;
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return { pod: name, reason: scheduled.reason ?? 'Unschedulable', ...(scheduled.message ? { message: scheduled.message } : {}) };
  const container = pod.status?.containerStatuses?.[0];
  const waiting = container?.state?.waiting;
  if (waiting?.reason && !starting.has(waiting.reason)) {
    // A crash loop says more by why the last run ended than by "back-off restarting".
    const last = container?.lastState?.terminated;
    const ended = last ? `last exit ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}${last.message ? `: ${last.message.trim().split('\n').at(-1)}` : ''}` : undefined;
    const message = ended ?? waiting.message;
    return { pod: name, reason: waiting.reason, ...(message ? { message } : {}) };
  }
  const terminated = container?.state?.terminated;
  if (terminated && terminated.exitCode !== 0) return { pod: name, reason: terminated.reason ?? 'Error', message: `exit code ${terminated.exitCode}` };
  if (container?.state?.running && !container.ready && (container.restartCount ?? 0) > 0) {
    const last = container.lastState?.terminated;
    return { pod: name, reason: 'Restarting', message: `${container.restartCount} restarts${last?.reason ? `, last ${last.reason}` : ''}` };
  }
  return undefined;
}

const isReady = (pod: V1Pod) => !pod.metadata?.deletionTimestamp && (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);

/**
 * One Deployment's rollout. `initReplicas` is what an api starts at (its autoscaler sets it);
 * undefined for a component, which asks for its own replicas. `pods` are those the Deployment
 * selects, of any template.
 */
export function rolloutOf(d: V1Deployment, pods: readonly V1Pod[], initReplicas?: number): Rollout {
  const name = d.metadata?.name ?? '?';
  const label = d.metadata?.labels?.[labels.api] ?? d.metadata?.labels?.[labels.component] ?? name;
  const isApi = initReplicas !== undefined;
  const awaitingAutoscaler = isApi && !decisionOf(d);
  const requested = awaitingAutoscaler ? initReplicas : (d.spec?.replicas ?? 1);
  const status = d.status ?? {};
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const ready = pods.filter(isReady).length;
  const observed = (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  // kubectl rollout status's rule, on the count asked for: every pod of the new template, no old one left, all available.
  const done = observed && !awaitingAutoscaler && updated >= requested && total <= updated && (status.availableReplicas ?? 0) >= requested;
  const problems = pods.filter((p) => !isReady(p)).flatMap((p) => podProblem(p) ?? []);
  return { name, label, requested, ready, updated, old: Math.max(0, total - updated), awaitingAutoscaler, done, problems };
}

const problemText = (p: PodProblem) => `${p.pod}: ${p.reason}${p.message ? `: ${p.message}` : ''}`;

/** One line of progress: "classifier 1/2 ready, gateway 1/1 ready; pod image-classifier-…: Unschedulable: 0/1 nodes are available: …". */
export function describeRollouts(rollouts: readonly Rollout[]): string {
  const counts = rollouts.map((r) => `${r.label} ${r.ready}/${r.requested} ready${r.old ? ` (${r.old} old)` : ''}${r.done ? '' : r.awaitingAutoscaler ? ' (waiting for the autoscaler)' : ''}`);
  const problems = rollouts.flatMap((r) => r.problems.map(problemText));
  return [counts.join(', '), ...problems.map((p) => `pod ${p}`)].join('; ');
}

/** The error when the wait runs out: what is not done, naming each pod that holds it up and its reason. */
export function rolloutTimeout(rollouts: readonly Rollout[], seconds: number, extra: ReadonlyMap<string, string> = new Map()): string {
  const pending = rollouts.filter((r) => !r.done);
  const why = pending.map((r) => {
    const problems = r.problems.map(problemText);
    // A pod with no problem the cluster names: its own word from /readyz, when the caller asked it.
    const said = [...extra].filter(([pod]) => pod.startsWith(`${r.name}-`) && !r.problems.some((p) => p.pod === pod)).map(([pod, text]) => `${pod}: ${text}`);
    const detail = [...problems, ...said];
    return `${r.label} ${r.ready}/${r.requested} ready${r.awaitingAutoscaler ? ', its replicas not yet set by the autoscaler (see the cortex-autoscaler pod)' : ''}${detail.length ? ` (${detail.join('; ')})` : ''}`;
  });
  return `the rollout did not finish within ${seconds} s: ${why.join('; ')}`;
}
