// The autoscaler loop: on each tick, for each api whose decision is due, the policy's answer
// from the collector's in-flight samples, written to whatever holds the replica count. The dev
// session drives it with a local backend; the in-cluster autoscaler will drive the same loop
// with the Deployment's scale subresource as its target.
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

export interface Decision {
  decision: string;
  at: string;
}

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

  /** The last decision and why, for the views. */
  decision(api: string): Decision | null {
    return this.apis.get(api)?.decision ?? null;
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
      const decision = autoscale({
        current,
        avgInFlight: averageInFlight(samples, config.windowMs, now),
        history: state.history,
        startedAt: state.startedAt,
        now,
        config,
      });
      state.history = decision.history;
      state.decision = { decision: decision.reason, at: new Date(now).toISOString() };
      if (decision.request !== current) await this.target.scale(api.name, decision.request);
    }
  }
}
