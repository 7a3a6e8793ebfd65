// The autoscaler loop: on each tick, for each api whose decision is due, the policy's answer
// from the collector's in-flight samples, written to whatever holds the replica count. The dev
// session drives it with a local backend; the in-cluster autoscaler will drive the same loop
// with the Deployment's scale subresource as its target.
import type { AutoscalerDecision, Stabilization } from '../model/status.js';
import { formatDuration } from '../spec/quantities.js';
import type { ApiSpec } from '../spec/types.js';
import { autoscale, averageInFlight, type Recommendation } from './policy.js';

/** Where the replica count lives: a local backend, or a Deployment's scale subresource. */
export interface ScaleTarget {
  /** Replicas asked for now (the last decision, or init_replicas). */
  requested(api: string): number;
  scale(api: string, replicas: number): Promise<void>;
}

/** The in-flight samples of an api, summed over its replicas, oldest first (Collector.inFlightSamples). */
export interface InFlightSource {
  inFlightSamples(api: string): ReadonlyArray<{ at: number; inFlight: number }>;
}

/** The last decision: its reasoning as text, and (facts) in numbers for the views. */
export type Decision = AutoscalerDecision;

interface ApiScaling {
  history: Recommendation[];
  startedAt: number;
  nextAt: number;
  decision: Decision | null;
}

/** How often the metrics are scraped and the loop ticks. */
export const tickMs = 1000;

/** Cortex decides every 10 s; a shorter window (tests, demos) decides as often as it turns over. */
export function decisionEvery(api: Pick<ApiSpec, 'autoscaling'>): number {
  return Math.max(tickMs, Math.min(10_000, api.autoscaling.windowMs));
}

export class AutoscalerLoop {
  private readonly apis = new Map<string, ApiScaling>();

  constructor(
    private readonly target: ScaleTarget,
    private readonly samples: InFlightSource,
  ) {}

  /** Starts deciding for an api (its stabilization periods count from now); a known api keeps its history. */
  track(api: Pick<ApiSpec, 'name' | 'autoscaling'>, now = Date.now()): void {
    if (!this.apis.has(api.name)) this.apis.set(api.name, { history: [], startedAt: now, nextAt: now + decisionEvery(api), decision: null });
  }

  /** Starts afresh for an api (its predictor moved, or it came back). */
  restart(api: Pick<ApiSpec, 'name' | 'autoscaling'>, now = Date.now()): void {
    this.apis.delete(api.name);
    this.track(api, now);
  }

  forget(api: string): void {
    this.apis.delete(api);
  }

  /** The last decision and why; null before the first. */
  decision(api: string): Decision | null {
    return this.apis.get(api)?.decision ?? null;
  }

  /**
   * What the views show: the last decision, or before it one that says none has come yet and
   * when the stabilization periods first allow a step (a user sending load in the first minute
   * sees why nothing scales). Null for an api not tracked.
   */
  status(api: Pick<ApiSpec, 'name' | 'autoscaling'>): Decision | null {
    const state = this.apis.get(api.name);
    if (!state) return null;
    if (state.decision) return state.decision;
    const at = new Date(state.startedAt).toISOString();
    return {
      decision: 'no decision yet: the first comes once the replicas report in-flight requests',
      at,
      facts: { kind: 'waiting', nextAt: new Date(state.nextAt).toISOString(), stabilization: stabilization(api, state.startedAt) },
    };
  }

  /** Decides for every api that is due; scales those whose answer differs from what is requested. */
  async tick(apis: Iterable<Pick<ApiSpec, 'name' | 'autoscaling'>>, now = Date.now()): Promise<void> {
    for (const api of apis) {
      const state = this.apis.get(api.name);
      if (!state || now < state.nextAt) continue;
      const config = api.autoscaling;
      state.nextAt = now + decisionEvery(api);
      const samples = this.samples.inFlightSamples(api.name).filter((s) => s.at > now - config.windowMs);
      // Like Cortex, no metrics means no decision (rather than a decision on zero load).
      if (samples.length === 0) continue;
      const current = this.target.requested(api.name);
      const avgInFlight = averageInFlight(samples, config.windowMs, now);
      const decision = autoscale({
        current,
        avgInFlight,
        history: state.history,
        startedAt: state.startedAt,
        now,
        config,
      });
      state.history = decision.history;
      state.decision = {
        decision: decision.reason,
        at: new Date(now).toISOString(),
        facts: {
          kind: 'decided',
          from: current,
          to: decision.request,
          wanted: decision.recommendation,
          avgInFlight: Math.round(avgInFlight * 100) / 100,
          target: config.targetReplicaConcurrency,
          ...(decision.limit ? { limit: decision.limit } : {}),
          ...(decision.held ? { held: { direction: decision.held.direction, sinceStart: decision.held.sinceStart } } : {}),
          stabilization: stabilization(api, state.startedAt),
        },
      };
      if (decision.request !== current) await this.target.scale(api.name, decision.request);
    }
  }
}

function stabilization(api: Pick<ApiSpec, 'autoscaling'>, startedAt: number): Stabilization {
  const { upscaleStabilizationMs: up, downscaleStabilizationMs: down } = api.autoscaling;
  return {
    up: { period: formatDuration(up), from: new Date(startedAt + up).toISOString() },
    down: { period: formatDuration(down), from: new Date(startedAt + down).toISOString() },
  };
}
