// Cortex's autoscaling decision as a pure function, so the dev loop and the in-cluster
// autoscaler make the same choice from the same numbers, and tests need no clock.
// Follows cortexlabs/cortex pkg/operator/resources/realtimeapi/autoscaler.go.
import { formatDuration } from '../spec/quantities.js';
import type { AutoscalingSpec } from '../spec/types.js';

export interface Recommendation {
  /** ms since the epoch */
  at: number;
  replicas: number;
}

export interface AutoscaleInput {
  /** Replicas currently requested. */
  current: number;
  /** Mean over the window of the api's in-flight requests, summed over its replicas. */
  avgInFlight: number;
  /** The `history` of the previous decision; empty on the first tick. */
  history: readonly Recommendation[];
  /** Time of the loop's first tick: nothing scales until a stabilization period has passed since. */
  startedAt: number;
  now: number;
  config: AutoscalingSpec;
}

export interface AutoscaleDecision {
  /** Replicas to ask for. */
  request: number;
  /** What the load alone calls for, before stabilization; the value recorded in `history`. */
  recommendation: number;
  /** Pass back as the next input's `history`. */
  history: Recommendation[];
  /** The rules that shaped `request`, in order, for logs and the TUI. */
  reason: string;
  /** The bound that last capped the recommendation ("max_replicas 4"), if one did. */
  limit?: string;
  /** Stabilization kept `request` from the recommendation: which period, and whether only because it has not passed since the start. */
  held?: { direction: 'up' | 'down'; sinceStart: boolean; periodMs: number };
}

export function autoscale(input: AutoscaleInput): AutoscaleDecision {
  const { current, avgInFlight, startedAt, now, config } = input;
  const raw = avgInFlight / config.targetReplicaConcurrency;
  let recommendation = Math.ceil(raw);
  const reasons = [`avg in-flight ${round(avgInFlight)} / target ${round(config.targetReplicaConcurrency)} → ${recommendation}`];
  // A rule that leaves the number as it was is not worth a word in the reason.
  const apply = (from: number, to: number, why: string): number => {
    if (to !== from) reasons.push(why);
    return to;
  };
  let limit: string | undefined;
  const clamp = (from: number, to: number, why: string, bound: string): number => {
    if (to !== from) limit = bound;
    return apply(from, to, why);
  };

  if (raw < current && raw > current * (1 - config.downscaleTolerance)) {
    recommendation = apply(recommendation, current, 'within downscale tolerance');
  }
  if (raw > current && raw < current * (1 + config.upscaleTolerance)) {
    recommendation = apply(recommendation, current, 'within upscale tolerance');
  }
  // However tight the factors, one replica more or fewer is always allowed, or small apis could never move.
  const upscaleCeil = Math.max(current + 1, Math.ceil(current * config.maxUpscaleFactor));
  if (recommendation > upscaleCeil) {
    recommendation = clamp(recommendation, upscaleCeil, `clamped to max_upscale_factor ${config.maxUpscaleFactor} (${upscaleCeil})`, `max_upscale_factor ${config.maxUpscaleFactor}`);
  }
  const downscaleFloor = Math.min(current - 1, Math.ceil(current * config.maxDownscaleFactor));
  if (recommendation < downscaleFloor) {
    recommendation = clamp(recommendation, downscaleFloor, `clamped to max_downscale_factor ${config.maxDownscaleFactor} (${downscaleFloor})`, `max_downscale_factor ${config.maxDownscaleFactor}`);
  }
  if (recommendation < config.minReplicas) {
    recommendation = clamp(recommendation, config.minReplicas, `clamped to min_replicas ${config.minReplicas}`, `min_replicas ${config.minReplicas}`);
  }
  if (recommendation > config.maxReplicas) {
    recommendation = clamp(recommendation, config.maxReplicas, `clamped to max_replicas ${config.maxReplicas}`, `max_replicas ${config.maxReplicas}`);
  }

  // Stabilization compares against past recommendations, this one included, so record it first.
  const keepMs = Math.max(config.downscaleStabilizationMs, config.upscaleStabilizationMs);
  const history = [...input.history.filter((r) => now - r.at <= keepMs), { at: now, replicas: recommendation }];
  const recentReplicas = (periodMs: number): number[] => history.filter((r) => now - r.at <= periodMs).map((r) => r.replicas);

  let request = recommendation;
  let held: AutoscaleDecision['held'];
  const hold = (to: number, why: string, direction: 'up' | 'down', sinceStart: boolean): number => {
    if (to !== request) held = { direction, sinceStart, periodMs: direction === 'up' ? config.upscaleStabilizationMs : config.downscaleStabilizationMs };
    return apply(request, to, why);
  };
  if (request < current) {
    const period = formatDuration(config.downscaleStabilizationMs);
    if (now - startedAt < config.downscaleStabilizationMs) {
      request = hold(current, `held by downscale stabilization (less than ${period} since start)`, 'down', true);
    } else {
      // Capped at current: a recent higher recommendation that upscale stabilization held back
      // must not turn a held downscale into an upscale (as later Cortex releases do).
      const floor = Math.min(current, Math.max(...recentReplicas(config.downscaleStabilizationMs)));
      request = hold(floor, `held by downscale stabilization (max ${floor} in the last ${period})`, 'down', false);
    }
  }
  if (request > current) {
    const period = formatDuration(config.upscaleStabilizationMs);
    if (now - startedAt < config.upscaleStabilizationMs) {
      request = hold(current, `held by upscale stabilization (less than ${period} since start)`, 'up', true);
    } else {
      // Likewise capped at current, so a held upscale never becomes a downscale.
      const ceil = Math.max(current, Math.min(...recentReplicas(config.upscaleStabilizationMs)));
      request = hold(ceil, `held by upscale stabilization (min ${ceil} in the last ${period})`, 'up', false);
    }
  }
  return { request, recommendation, history, reason: reasons.join('; '), ...(limit ? { limit } : {}), ...(held ? { held } : {}) };
}

/**
 * Plain mean of the samples in the window, not weighted by time: like Cortex's mean of
 * 10-second metric points, it assumes the loop samples at a steady rate.
 */
export function averageInFlight(samples: readonly { at: number; inFlight: number }[], windowMs: number, now: number): number {
  const recent = samples.filter((sample) => sample.at > now - windowMs);
  return recent.length === 0 ? 0 : recent.reduce((sum, sample) => sum + sample.inFlight, 0) / recent.length;
}

const round = (n: number): number => Math.round(n * 100) / 100;
