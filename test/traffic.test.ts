// From cumulative Prometheus counters to rates and percentiles.
import test from 'ava';
import { latencyBuckets } from '../runtime/metrics.js';
import { addBuckets, delta, quantileMs, rateWindowSeconds, TrafficWindow, type Scrape } from '../src/scaling/traffic.js';

const scrape = (count: number, buckets: number[], byStatus: Record<string, number> = { '200': count }): Scrape => ({
  inFlight: 0,
  byStatus,
  buckets: [0.01, 0.1, 1, Infinity].map((le, i) => [le, buckets[i]!] as [number, number]),
  count,
  sum: count * 0.05,
});

test('quantiles interpolate within the bucket, like histogram_quantile', (t) => {
  // 10 requests: 4 under 10 ms, 6 more under 100 ms.
  const buckets: Array<[number, number]> = [[0.01, 4], [0.1, 10], [1, 10], [Infinity, 10]];
  // rank 5 falls 1/6 into (10 ms, 100 ms]: 10 + 90 / 6 = 25 ms
  t.is(quantileMs(buckets, 0.5), 25);
  // rank 2 falls halfway into (0, 10 ms]
  t.is(quantileMs(buckets, 0.2), 5);
  // rank 9.9 → 10 + 90 × 5.9 / 6 = 98.5 ms
  t.is(Math.round(quantileMs(buckets, 0.99)! * 10) / 10, 98.5);
  t.is(quantileMs([[0.1, 0], [Infinity, 0]], 0.5), null);
  // everything beyond the last finite bound: the bound is all we know
  t.is(quantileMs([[0.1, 0], [Infinity, 3]], 0.5), 100);
});

test('a delta is the difference of cumulative counters, by status class', (t) => {
  const d = delta(scrape(10, [4, 10, 10, 10], { '200': 8, '404': 2 }), scrape(15, [5, 14, 15, 15], { '200': 11, '404': 3, '500': 1 }));
  t.is(d.requests, 5);
  t.deepEqual(d.classes, { '2xx': 3, '4xx': 1, '5xx': 1 });
  t.deepEqual(d.buckets.map(([, c]) => c), [1, 4, 5, 5]);
});

test('a replica that restarted counts from zero, not negative', (t) => {
  const d = delta(scrape(100, [50, 100, 100, 100]), scrape(3, [3, 3, 3, 3]));
  t.is(d.requests, 3);
  t.deepEqual(d.buckets.map(([, c]) => c), [3, 3, 3, 3]);
});

test('the window keeps a minute of points and the session counts', (t) => {
  const w = new TrafficWindow();
  for (let i = 0; i < 70; i++) w.add(i * 1000, 1, delta(scrape(i * 2, [i * 2, i * 2, i * 2, i * 2]), scrape(i * 2 + 2, [i * 2 + 2, i * 2 + 2, i * 2 + 2, i * 2 + 2])));
  const s = w.snapshot();
  t.is(s.reqPerSec.length, 60);
  t.true(s.reqPerSec.every((r) => r === 2));
  t.is(s.now.reqPerSec, 2);
  t.is(s.counts['2xx'], 140);
  t.is(s.p50Ms.at(-1), 5);
});

test('an idle window is padded and has no percentiles', (t) => {
  const s = new TrafficWindow().snapshot();
  t.is(s.reqPerSec.length, 60);
  t.is(s.now.p50Ms, null);
  t.is(s.now.avgMs, null);
});

test('the req/s figure is the rate of the last few seconds, not of the minute', (t) => {
  const w = new TrafficWindow();
  // 50 s at 100 req/s, then the load stops.
  let count = 0;
  for (let i = 0; i < 60; i++) {
    const next = i < 50 ? count + 100 : count;
    w.add(i * 1000, 1, delta(scrape(count, [count, count, count, count]), scrape(next, [next, next, next, next])));
    count = next;
  }
  const s = w.snapshot();
  t.is(s.now.reqPerSec, 0, 'ten seconds after the load stopped');
  t.deepEqual(s.windows, { rateSeconds: rateWindowSeconds, latencySeconds: 60 });
  t.true(rateWindowSeconds <= 5);
  // and during the load, the figure is the load's rate, whatever came before it
  const busy = new TrafficWindow();
  count = 0;
  for (let i = 0; i < 30; i++) {
    const next = count + (i < 20 ? 10 : 137);
    busy.add(i * 1000, 1, delta(scrape(count, [count, count, count, count]), scrape(next, [next, next, next, next])));
    count = next;
  }
  t.is(busy.snapshot().now.reqPerSec, 137);
});

/** Cumulative buckets with the runtime's bounds for these latencies (seconds). */
function histogram(samples: number[]): Array<[number, number]> {
  return [...latencyBuckets, Infinity].map((le) => [le, samples.filter((s) => s <= le).length]);
}

const exact = (sorted: number[], q: number) => sorted[Math.ceil(q * sorted.length) - 1]! * 1000;

test('p50 and p99 read from the runtime\'s buckets are within 10% of the latencies measured', (t) => {
  // Deterministic log-normal-ish latencies around a few medians, as a client sees them.
  let seed = 7;
  const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  for (const median of [0.004, 0.02, 0.048, 0.132, 0.6, 3]) {
    const samples = Array.from({ length: 2000 }, () => {
      const normal = Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
      return median * Math.exp(0.25 * normal);
    });
    const sorted = [...samples].sort((a, b) => a - b);
    for (const q of [0.5, 0.99]) {
      const read = quantileMs(histogram(samples), q)!;
      const truth = exact(sorted, q);
      t.true(Math.abs(read / truth - 1) <= 0.1, `median ${median * 1000} ms, q${q}: read ${read.toFixed(1)} ms, measured ${truth.toFixed(1)} ms`);
    }
  }
  // The case of the issue: a p99 of 153 ms read from the old decade buckets was 244 ms.
  const around153 = Array.from({ length: 1000 }, (_, i) => (i < 990 ? 0.1 + (i / 990) * 0.053 : 0.153 + (i - 990) * 0.001));
  const p99 = quantileMs(histogram(around153), 0.99)!;
  t.true(Math.abs(p99 / 153 - 1) <= 0.1, `p99 ${p99.toFixed(1)} ms`);
});

test('replicas with different bounds (a rollout) add up on the union of the bounds', (t) => {
  const a: Array<[number, number]> = [[0.1, 2], [1, 4], [Infinity, 4]];
  const b: Array<[number, number]> = [[0.05, 1], [0.1, 3], [Infinity, 5]];
  t.deepEqual(addBuckets(a, b), [[0.05, 1], [0.1, 5], [1, 7], [Infinity, 9]]);
  t.deepEqual(addBuckets(a, a), [[0.1, 4], [1, 8], [Infinity, 8]]);
  t.deepEqual(addBuckets([], b), b);
});
