// Turning replicas' cumulative Prometheus counters into what people look at: requests a
// second (the figure: over the last 5 s), p50/p99 over the last minute, 2XX/4XX/5XX. Pure: the
// collector feeds scrapes in.
import { metricNames, type MetricFamily } from '../../runtime/protocol.js';
import type { TrafficSnapshot } from '../model/status.js';

/** The numbers of one scrape of one replica, all cumulative since the replica started. */
export interface Scrape {
  inFlight: number;
  byStatus: Record<string, number>;
  /** [upper bound in seconds, cumulative count], ascending, ending with +Inf. */
  buckets: Array<[number, number]>;
  count: number;
  sum: number;
}

/** What happened between two scrapes. */
export interface Delta {
  requests: number;
  classes: { '2xx': number; '4xx': number; '5xx': number };
  buckets: Array<[number, number]>;
  sum: number;
}

export function readScrape(families: MetricFamily[]): Scrape {
  const family = (name: string) => families.find((f) => f.name === name)?.values ?? [];
  const byStatus: Record<string, number> = {};
  for (const v of family(metricNames.requests)) byStatus[String(v.labels.status)] = v.value;
  const histogram = family(metricNames.duration);
  const buckets = histogram
    .filter((v) => v.metricName?.endsWith('_bucket'))
    .map((v): [number, number] => [v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), v.value])
    .sort((a, b) => a[0] - b[0]);
  const pick = (suffix: string) => histogram.find((v) => v.metricName?.endsWith(suffix))?.value ?? 0;
  return { inFlight: family(metricNames.inFlight)[0]?.value ?? 0, byStatus, buckets, count: pick('_count'), sum: pick('_sum') };
}

/** `next` minus `prev`; a replica that restarted (counters went down) counts from zero. */
export function delta(prev: Scrape | undefined, next: Scrape): Delta {
  const base = prev && prev.count <= next.count ? prev : undefined;
  const classes = { '2xx': 0, '4xx': 0, '5xx': 0 };
  for (const [status, value] of Object.entries(next.byStatus)) {
    const key = `${status[0]}xx` as keyof typeof classes;
    if (key in classes) classes[key] += value - (base?.byStatus[status] ?? 0);
  }
  return {
    requests: next.count - (base?.count ?? 0),
    classes,
    buckets: next.buckets.map(([le, c], i) => [le, c - (base?.buckets[i]?.[1] ?? 0)]),
    sum: next.sum - (base?.sum ?? 0),
  };
}

/** The count at or under `le` in cumulative buckets: that of the largest bound ≤ le. */
function countAt(buckets: ReadonlyArray<[number, number]>, le: number): number {
  let count = 0;
  for (const [bound, c] of buckets) {
    if (bound > le) break;
    count = c;
  }
  return count;
}

/**
 * The sum of two cumulative histograms. Replicas of one runtime share their bounds; during a
 * rollout an older replica may not, and then the union of the bounds is used, each histogram
 * read at a bound it lacks as its count at the bound below.
 */
export function addBuckets(a: Array<[number, number]>, b: Array<[number, number]>): Array<[number, number]> {
  if (a.length === 0) return b.map(([le, c]) => [le, c]);
  if (b.length === 0) return a.map(([le, c]) => [le, c]);
  if (a.length === b.length && a.every(([le], i) => b[i]![0] === le)) return a.map(([le, c], i) => [le, c + b[i]![1]]);
  const bounds = [...new Set([...a.map(([le]) => le), ...b.map(([le]) => le)])].sort((x, y) => x - y);
  return bounds.map((le) => [le, countAt(a, le) + countAt(b, le)]);
}

/** Prometheus's histogram_quantile: linear within the bucket the rank falls in. Milliseconds. */
export function quantileMs(buckets: ReadonlyArray<[number, number]>, q: number): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe * 1000;
      const within = count - prevCount;
      const fraction = within > 0 ? (rank - prevCount) / within : 0;
      return (prevLe + (le - prevLe) * fraction) * 1000;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe * 1000;
}

const windowPoints = 60;
/**
 * The figure beside the req/s sparkline is the rate over the last few seconds: an average over
 * the whole minute lags (hey at 137 req/s read as 43–88/s, and 77/s after the load stopped).
 */
export const rateWindowSeconds = 5;
/** p50, p99 and the average are over the whole minute: enough requests for a p99 to mean something. */
export const latencyWindowSeconds = windowPoints;

/** One api's last minute, one point per collector tick (a second). */
export class TrafficWindow {
  private readonly points: Array<{ at: number; seconds: number; delta: Delta }> = [];
  private readonly counts = { '2xx': 0, '4xx': 0, '5xx': 0 };

  add(at: number, seconds: number, d: Delta): void {
    this.points.push({ at, seconds, delta: d });
    if (this.points.length > windowPoints) this.points.shift();
    for (const k of ['2xx', '4xx', '5xx'] as const) this.counts[k] += d.classes[k];
  }

  snapshot(): TrafficSnapshot {
    const pad = <T>(values: T[], fill: T) => [...Array<T>(Math.max(0, windowPoints - values.length)).fill(fill), ...values];
    const total = this.points.reduce((acc, p) => addBuckets(acc, p.delta.buckets), [] as Array<[number, number]>);
    const requests = this.points.reduce((n, p) => n + p.delta.requests, 0);
    const sum = this.points.reduce((n, p) => n + p.delta.sum, 0);
    const recent = this.points.slice(-rateWindowSeconds);
    const recentSeconds = recent.reduce((n, p) => n + p.seconds, 0);
    const recentRequests = recent.reduce((n, p) => n + p.delta.requests, 0);
    return {
      reqPerSec: pad(this.points.map((p) => p.delta.requests / p.seconds), 0),
      p50Ms: pad(this.points.map((p) => quantileMs(p.delta.buckets, 0.5)), null),
      p99Ms: pad(this.points.map((p) => quantileMs(p.delta.buckets, 0.99)), null),
      now: {
        reqPerSec: recentSeconds > 0 ? recentRequests / recentSeconds : 0,
        p50Ms: quantileMs(total, 0.5),
        p99Ms: quantileMs(total, 0.99),
        avgMs: requests > 0 ? (sum / requests) * 1000 : null,
      },
      windows: { rateSeconds: rateWindowSeconds, latencySeconds: latencyWindowSeconds },
      counts: { ...this.counts },
    };
  }
}
