// Scrapes every serving replica's /metrics once a second: per-replica figures for the replicas
// pane, a per-api minute of traffic for the latency pane, and the in-flight samples the
// autoscaler averages over its window.
import { controlEndpoint, type ReplicaInfo } from '../model/backend.js';
import { fetchMetrics } from '../../runtime/client.js';
import type { ReplicaFigures } from '../model/snapshot.js';
import { isServing } from '../model/status.js';
import { addBuckets, delta, quantileMs, readScrape, TrafficWindow, type Delta, type Scrape } from './traffic.js';

export type { ReplicaFigures };

interface ReplicaTrack {
  last: Scrape | undefined;
  recent: Array<{ at: number; delta: Delta }>;
}

interface ApiTrack {
  window: TrafficWindow;
  inFlight: Array<{ at: number; inFlight: number }>;
}

export class Collector {
  private readonly replicas = new Map<string, ReplicaTrack>();
  private readonly apis = new Map<string, ApiTrack>();
  private lastTick = Date.now();

  constructor(private readonly keepInFlightMs: () => number) {}

  /** One scrape of every serving replica of every api. */
  async tick(apis: ReadonlyMap<string, ReplicaInfo[]>, now = Date.now()): Promise<void> {
    const seconds = Math.max(0.001, (now - this.lastTick) / 1000);
    this.lastTick = now;
    const seen = new Set<string>();
    await Promise.all(
      [...apis].map(async ([api, replicas]) => {
        const track = this.api(api);
        let total: Delta = { requests: 0, classes: { '2xx': 0, '4xx': 0, '5xx': 0 }, buckets: [], sum: 0 };
        let inFlight = 0;
        let scraped = 0;
        await Promise.all(
          replicas.map(async (r) => {
            seen.add(r.id);
            const endpoint = controlEndpoint(r);
            if (!endpoint) {
              // Its process is gone, and its figures with it (a restart counts from zero).
              this.replicas.delete(r.id);
              return;
            }
            if (!isServing(r.status) && r.status !== 'stopping') return;
            let scrape: Scrape;
            try {
              scrape = readScrape(await fetchMetrics(endpoint));
            } catch {
              return; // gone or busy starting: it counts next time
            }
            const replica = this.replica(r.id);
            const d = delta(replica.last, scrape);
            replica.last = scrape;
            replica.recent.push({ at: now, delta: d });
            while (replica.recent.length && replica.recent[0]!.at <= now - 60_000) replica.recent.shift();
            inFlight += scrape.inFlight;
            scraped++;
            total = { requests: total.requests + d.requests, classes: sumClasses(total.classes, d.classes), buckets: addBuckets(total.buckets, d.buckets), sum: total.sum + d.sum };
          }),
        );
        track.window.add(now, seconds, total);
        // No replica answered: a gap in the metrics, not a sample of zero load.
        if (scraped > 0) track.inFlight.push({ at: now, inFlight });
        const keep = now - this.keepInFlightMs();
        while (track.inFlight.length && track.inFlight[0]!.at < keep) track.inFlight.shift();
      }),
    );
    for (const id of this.replicas.keys()) if (!seen.has(id)) this.replicas.delete(id);
  }

  figures(replica: string): ReplicaFigures {
    const track = this.replicas.get(replica);
    if (!track?.last) return { inFlight: 0, requests: 0, p50Ms: null };
    const buckets = track.recent.reduce((acc, r) => addBuckets(acc, r.delta.buckets), [] as Array<[number, number]>);
    return { inFlight: track.last.inFlight, requests: track.last.count, p50Ms: quantileMs(buckets, 0.5) };
  }

  traffic(api: string) {
    return this.api(api).window.snapshot();
  }

  inFlightSamples(api: string): ReadonlyArray<{ at: number; inFlight: number }> {
    return this.api(api).inFlight;
  }

  forget(api: string): void {
    this.apis.delete(api);
  }

  private api(name: string): ApiTrack {
    let track = this.apis.get(name);
    if (!track) this.apis.set(name, (track = { window: new TrafficWindow(), inFlight: [] }));
    return track;
  }

  private replica(id: string): ReplicaTrack {
    let track = this.replicas.get(id);
    if (!track) this.replicas.set(id, (track = { last: undefined, recent: [] }));
    return track;
  }
}

function sumClasses(a: Delta['classes'], b: Delta['classes']): Delta['classes'] {
  return { '2xx': a['2xx'] + b['2xx'], '4xx': a['4xx'] + b['4xx'], '5xx': a['5xx'] + b['5xx'] };
}
