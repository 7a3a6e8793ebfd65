// From cumulative Prometheus counters to rates and percentiles.
import test from 'ava';
import { delta, quantileMs, TrafficWindow, type Scrape } from '../src/scaling/traffic.js';

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
