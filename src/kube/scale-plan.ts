// What the in-cluster autoscaler writes for one api Deployment, as pure functions of the
// Deployment object and the autoscaler's memory of its own writes: start a new api at
// init_replicas, clamp replicas that min/max no longer allow, or leave the count to the
// AutoscalerLoop. The entry point (src/cluster/autoscaler.ts) does the reads and writes.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Decision } from '../scaling/loop.js';
import type { AutoscalingSpec } from '../spec/types.js';
import { decisionOf } from './observed.js';
import { annotations } from './names.js';

export type AutoscalingRead = { ok: true; spec: AutoscalingSpec } | { ok: false; problem: string };

type Rule = (n: number, spec: AutoscalingSpec) => string | undefined;
const integerAtLeast = (min: number): Rule => (n) => (Number.isInteger(n) && n >= min ? undefined : `an integer ≥ ${min}`);
const rules: Record<keyof AutoscalingSpec, Rule> = {
  minReplicas: integerAtLeast(1),
  maxReplicas: (n, s) => integerAtLeast(1)(n, s) ?? (n < s.minReplicas ? `≥ minReplicas (${s.minReplicas})` : undefined),
  initReplicas: (n, s) => integerAtLeast(1)(n, s) ?? (n < s.minReplicas || n > s.maxReplicas ? `between minReplicas (${s.minReplicas}) and maxReplicas (${s.maxReplicas})` : undefined),
  targetReplicaConcurrency: (n) => (n > 0 ? undefined : 'a number > 0'),
  maxReplicaConcurrency: integerAtLeast(1),
  windowMs: (n) => (n > 0 ? undefined : 'a duration > 0 (ms)'),
  downscaleStabilizationMs: (n) => (n >= 0 ? undefined : 'a duration ≥ 0 (ms)'),
  upscaleStabilizationMs: (n) => (n >= 0 ? undefined : 'a duration ≥ 0 (ms)'),
  maxDownscaleFactor: (n) => (n > 0 && n < 1 ? undefined : 'a number between 0 and 1 (exclusive)'),
  maxUpscaleFactor: (n) => (n > 1 ? undefined : 'a number > 1'),
  downscaleTolerance: (n) => (n >= 0 ? undefined : 'a number ≥ 0'),
  upscaleTolerance: (n) => (n >= 0 ? undefined : 'a number ≥ 0'),
};

/** The api's autoscaling settings from its Deployment's `cortex.dev/autoscaling` annotation (the CLI writes it). */
export function autoscalingOf(d: V1Deployment): AutoscalingRead {
  const where = `annotation ${annotations.autoscaling}`;
  const raw = d.metadata?.annotations?.[annotations.autoscaling];
  if (raw === undefined) return { ok: false, problem: `no ${where}` };
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return { ok: false, problem: `${where} is not JSON (${(err as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, problem: `${where} is not a JSON object` };
  const fields = value as Record<string, unknown>;
  const keys = Object.keys(rules) as Array<keyof AutoscalingSpec>;
  for (const key of keys) {
    if (typeof fields[key] !== 'number' || !Number.isFinite(fields[key])) return { ok: false, problem: `${where}: ${key} must be a number, got ${JSON.stringify(fields[key]) ?? 'nothing'}` };
  }
  const spec = Object.fromEntries(keys.map((k) => [k, fields[k]])) as unknown as AutoscalingSpec;
  for (const key of keys) {
    const wrong = rules[key](spec[key], spec);
    if (wrong) return { ok: false, problem: `${where}: ${key} must be ${wrong}, got ${spec[key]}` };
  }
  return { ok: true, spec };
}

/** A write of the autoscaler's that the informer's cache may not show yet. */
export interface Pending<T> {
  value: T;
  /** ms since the epoch */
  at: number;
}

/** How long a write is believed over a cache that does not show it; past that, what the cluster says wins (someone else wrote since). */
export const pendingMs = 10_000;

/** The autoscaler's memory of one Deployment (by name), across ticks. */
export interface Memory {
  /** A Deployment deleted and created again under the same name starts afresh. */
  uid: string | undefined;
  replicas?: Pending<number>;
  /** The decision text last written. */
  decision?: Pending<string>;
  /** The `at` of the loop's last decision already looked at, so an old one never overwrites a newer init or clamp. */
  loopAt?: string;
  /** The unreadable autoscaling annotation last logged, so it is logged once, not every second. */
  problem?: string;
}

function believe<T>(observed: T, pending: Pending<T> | undefined, now: number): T {
  return pending && pending.value !== observed && now - pending.at < pendingMs ? pending.value : observed;
}

/** The memory less the writes the Deployment now shows: from then on, what the cluster says is the truth (someone may scale by hand). */
export function settled(d: V1Deployment, memory: Memory): Memory {
  const { replicas, decision, ...rest } = memory;
  const shown = d.metadata?.annotations?.[annotations.decision] !== undefined ? (decisionOf(d)?.decision ?? '') : undefined;
  return {
    ...rest,
    ...(replicas && replicas.value !== (d.spec?.replicas ?? 1) ? { replicas } : {}),
    ...(decision && decision.value !== shown ? { decision } : {}),
  };
}

/** Replicas the Deployment asks for: spec.replicas (the API server defaults it to 1), or a newer write of ours. */
export function believedReplicas(d: V1Deployment, memory: Memory, now: number): number {
  return believe(d.spec?.replicas ?? 1, memory.replicas, now);
}

/** The decision text on the Deployment (or a newer write of ours); '' for an annotation there but unreadable; undefined for none yet. */
export function believedDecision(d: V1Deployment, memory: Memory, now: number): string | undefined {
  const present = d.metadata?.annotations?.[annotations.decision] !== undefined;
  const observed = present ? (decisionOf(d)?.decision ?? '') : undefined;
  return believe(observed, memory.decision, now);
}

export type Step =
  | { kind: 'unreadable'; problem: string }
  /** A new api (no decision recorded yet): to init_replicas. */
  | { kind: 'init'; spec: AutoscalingSpec; from: number; to: number; reason: string }
  /** Replicas outside [min, max] (min/max changed, or someone scaled by hand): into the range, now. */
  | { kind: 'clamp'; spec: AutoscalingSpec; from: number; to: number; reason: string }
  /** Within range: the AutoscalerLoop decides on its schedule. */
  | { kind: 'loop'; spec: AutoscalingSpec };

export function nextStep(d: V1Deployment, memory: Memory, now: number): Step {
  const read = autoscalingOf(d);
  if (!read.ok) return { kind: 'unreadable', problem: read.problem };
  const { spec } = read;
  const from = believedReplicas(d, memory, now);
  if (believedDecision(d, memory, now) === undefined) {
    return { kind: 'init', spec, from, to: spec.initReplicas, reason: `init_replicas ${spec.initReplicas}` };
  }
  if (from < spec.minReplicas) return { kind: 'clamp', spec, from, to: spec.minReplicas, reason: `clamped to min_replicas ${spec.minReplicas} (was ${from})` };
  if (from > spec.maxReplicas) return { kind: 'clamp', spec, from, to: spec.maxReplicas, reason: `clamped to max_replicas ${spec.maxReplicas} (was ${from})` };
  return { kind: 'loop', spec };
}

/**
 * The loop's decision to record, if it is one not looked at yet and its text differs from what the
 * Deployment says (an unchanged text is not written again: no churn of the object every 10 s).
 */
export function decisionToWrite(latest: Decision | null, d: V1Deployment, memory: Memory, now: number): Decision | undefined {
  if (!latest || latest.at === memory.loopAt) return undefined;
  return latest.decision === believedDecision(d, memory, now) ? undefined : latest;
}

/** The merge patch of the scale subresource. */
export function scalePatch(replicas: number): { spec: { replicas: number } } {
  return { spec: { replicas } };
}

/** The merge patch of the Deployment that records a decision; it touches that annotation only, so the CLI's server-side apply keeps the rest. */
export function decisionPatch(decision: Decision): { metadata: { annotations: Record<string, string> } } {
  return { metadata: { annotations: { [annotations.decision]: JSON.stringify(decision) } } };
}
