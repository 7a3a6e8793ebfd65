// Cortex's autoscaling algorithm, checked against cases worked out by hand.
import test from 'ava';
import { autoscale, averageInFlight, type Recommendation } from '../src/scaling/policy.js';
import type { AutoscalingSpec } from '../src/spec/index.js';

const SEC = 1000;
const MIN = 60 * SEC;
const NOW = 1_700_000_000_000;

/** Cortex's defaults: stabilization 5m down / 1m up, factors 0.75 / 1.5, tolerances 5%. */
const CONFIG: AutoscalingSpec = {
  minReplicas: 1,
  maxReplicas: 100,
  initReplicas: 1,
  targetReplicaConcurrency: 1,
  maxReplicaConcurrency: 1024,
  windowMs: MIN,
  downscaleStabilizationMs: 5 * MIN,
  upscaleStabilizationMs: MIN,
  maxDownscaleFactor: 0.75,
  maxUpscaleFactor: 1.5,
  downscaleTolerance: 0.05,
  upscaleTolerance: 0.05,
};

interface Case {
  title: string;
  current: number;
  avgInFlight: number;
  config?: Partial<AutoscalingSpec>;
  /** Earlier recommendations as [ms ago, replicas]. */
  history?: Array<[number, number]>;
  /** ms since the loop started; an hour unless set, long past both stabilization periods. */
  sinceStart?: number;
  expect: { recommendation: number; request: number; reason: string };
}

const cases: Case[] = [
  {
    // 2 / 1 = 2 → 2
    title: 'steady state',
    current: 2,
    avgInFlight: 2,
    expect: { recommendation: 2, request: 2, reason: 'avg in-flight 2 / target 1 → 2' },
  },
  {
    // 7.2 / 2 = 3.6 → ceil 4; 3.6 > 3 × 1.05 = 3.15, so outside tolerance; factor allows up to ceil(3 × 1.5) = 5
    title: 'upscale to the ceiling of in-flight / target',
    current: 3,
    avgInFlight: 7.2,
    config: { targetReplicaConcurrency: 2 },
    expect: { recommendation: 4, request: 4, reason: 'avg in-flight 7.2 / target 2 → 4' },
  },
  {
    // 8.5 → ceil 9; 8.5 < 10 × 0.95 = 9.5, outside tolerance; factor allows down to ceil(10 × 0.75) = 8
    title: 'downscale to the ceiling of in-flight / target',
    current: 10,
    avgInFlight: 8.5,
    expect: { recommendation: 9, request: 9, reason: 'avg in-flight 8.5 / target 1 → 9' },
  },
  {
    // 4.19 lies in (4, 4 × 1.05 = 4.2): stays 4 instead of ceil 5
    title: 'inside the upscale tolerance',
    current: 4,
    avgInFlight: 4.19,
    expect: { recommendation: 4, request: 4, reason: 'avg in-flight 4.19 / target 1 → 5; within upscale tolerance' },
  },
  {
    // 4.2 is not below 4 × 1.05 = 4.2 (exact in floating point) → ceil 5
    title: 'on the upscale tolerance bound, just outside',
    current: 4,
    avgInFlight: 4.2,
    expect: { recommendation: 5, request: 5, reason: 'avg in-flight 4.2 / target 1 → 5' },
  },
  {
    // Downward, 5% only matters once it exceeds a whole replica, hence 40: 38.5 lies in (40 × 0.95 = 38, 40), stays 40 instead of 39
    title: 'inside the downscale tolerance',
    current: 40,
    avgInFlight: 38.5,
    expect: { recommendation: 40, request: 40, reason: 'avg in-flight 38.5 / target 1 → 39; within downscale tolerance' },
  },
  {
    // 38 is not above 40 × 0.95 = 38 (exact in floating point) → 38; factor floor min(39, ceil(30)) = 30 lets it through
    title: 'on the downscale tolerance bound, just outside',
    current: 40,
    avgInFlight: 38,
    expect: { recommendation: 38, request: 38, reason: 'avg in-flight 38 / target 1 → 38' },
  },
  {
    // 16 capped at max(4 + 1, ceil(4 × 1.5) = 6) = 6
    title: 'max_upscale_factor caps a jump',
    current: 4,
    avgInFlight: 16,
    expect: { recommendation: 6, request: 6, reason: 'avg in-flight 16 / target 1 → 16; clamped to max_upscale_factor 1.5 (6)' },
  },
  {
    // max(1 + 1, ceil(1 × 1.5) = 2) = 2
    title: 'max_upscale_factor 1.5 from 1 replica allows 2',
    current: 1,
    avgInFlight: 16,
    expect: { recommendation: 2, request: 2, reason: 'avg in-flight 16 / target 1 → 16; clamped to max_upscale_factor 1.5 (2)' },
  },
  {
    // max(2 + 1, ceil(2 × 1.1 = 2.2) = 3) = 3
    title: 'max_upscale_factor 1.1 from 2 replicas allows 3',
    current: 2,
    avgInFlight: 16,
    config: { maxUpscaleFactor: 1.1 },
    expect: { recommendation: 3, request: 3, reason: 'avg in-flight 16 / target 1 → 16; clamped to max_upscale_factor 1.1 (3)' },
  },
  {
    // ceil(current × factor) > current for any factor > 1, so "+1" only decides at factor 1 (which cortex.yaml refuses):
    // max(2 + 1, ceil(2 × 1) = 2) = 3
    title: 'one more replica is always allowed',
    current: 2,
    avgInFlight: 16,
    config: { maxUpscaleFactor: 1 },
    expect: { recommendation: 3, request: 3, reason: 'avg in-flight 16 / target 1 → 16; clamped to max_upscale_factor 1 (3)' },
  },
  {
    // 0 raised to min(8 - 1, ceil(8 × 0.75) = 6) = 6
    title: 'max_downscale_factor caps a drop',
    current: 8,
    avgInFlight: 0,
    expect: { recommendation: 6, request: 6, reason: 'avg in-flight 0 / target 1 → 0; clamped to max_downscale_factor 0.75 (6)' },
  },
  {
    // min(3 - 1, ceil(3 × 0.75 = 2.25) = 3) = 2: the factor alone would forbid any drop
    title: 'one fewer replica is always allowed (from 3)',
    current: 3,
    avgInFlight: 0,
    expect: { recommendation: 2, request: 2, reason: 'avg in-flight 0 / target 1 → 0; clamped to max_downscale_factor 0.75 (2)' },
  },
  {
    // min(2 - 1, ceil(2 × 0.75 = 1.5) = 2) = 1
    title: 'one fewer replica is always allowed (from 2)',
    current: 2,
    avgInFlight: 0,
    expect: { recommendation: 1, request: 1, reason: 'avg in-flight 0 / target 1 → 0; clamped to max_downscale_factor 0.75 (1)' },
  },
  {
    // 0 → factor floor min(1, ceil(1.5) = 2) = 1 → min_replicas 2
    title: 'min_replicas',
    current: 2,
    avgInFlight: 0,
    config: { minReplicas: 2 },
    expect: {
      recommendation: 2,
      request: 2,
      reason: 'avg in-flight 0 / target 1 → 0; clamped to max_downscale_factor 0.75 (1); clamped to min_replicas 2',
    },
  },
  {
    // 1 → 1, then min_replicas 3, which is not bound by max_upscale_factor (ceil would be 2)
    title: 'min_replicas raised above the current replicas',
    current: 1,
    avgInFlight: 1,
    config: { minReplicas: 3 },
    expect: { recommendation: 3, request: 3, reason: 'avg in-flight 1 / target 1 → 1; clamped to min_replicas 3' },
  },
  {
    // 5, within max(5, ceil(6)) = 6, then max_replicas 4
    title: 'max_replicas',
    current: 4,
    avgInFlight: 5,
    config: { maxReplicas: 4 },
    expect: { recommendation: 4, request: 4, reason: 'avg in-flight 5 / target 1 → 5; clamped to max_replicas 4' },
  },
  {
    // 3 < 4, but 5m − 1ms since start < 5m: stays 4
    title: 'downscale held during the first downscale period after start',
    current: 4,
    avgInFlight: 3,
    sinceStart: 5 * MIN - 1,
    expect: { recommendation: 3, request: 4, reason: 'avg in-flight 3 / target 1 → 3; held by downscale stabilization (less than 5m since start)' },
  },
  {
    // 5m since start is no longer "less than 5m"; the only recommendation in the last 5m is this 3
    title: 'downscale allowed once the downscale period has passed since start',
    current: 4,
    avgInFlight: 3,
    sinceStart: 5 * MIN,
    expect: { recommendation: 3, request: 3, reason: 'avg in-flight 3 / target 1 → 3' },
  },
  {
    // recommendations in the last 5m (5m ago inclusive): 4, 3, and now 3 → max 4
    title: 'downscale held at the max recommendation of the last downscale period',
    current: 4,
    avgInFlight: 3,
    history: [
      [5 * MIN, 4],
      [MIN, 3],
    ],
    expect: { recommendation: 3, request: 4, reason: 'avg in-flight 3 / target 1 → 3; held by downscale stabilization (max 4 in the last 5m)' },
  },
  {
    // factor floor min(5, ceil(6 × 0.5) = 3) = 3 lets 3 through; last 5m: 5, 4, 3 → max 5, between 3 and 6
    title: 'downscale only part of the way while stabilizing',
    current: 6,
    avgInFlight: 3,
    config: { maxDownscaleFactor: 0.5 },
    history: [
      [4 * MIN, 5],
      [2 * MIN, 4],
    ],
    expect: { recommendation: 3, request: 5, reason: 'avg in-flight 3 / target 1 → 3; held by downscale stabilization (max 5 in the last 5m)' },
  },
  {
    // last 5m: 6 (held back by upscale stabilization), now 3 → max 6, capped at current 4: stay, never go up
    title: 'a held-back upscale recommendation never turns a downscale into an upscale',
    current: 4,
    avgInFlight: 3,
    history: [[2 * MIN, 6]],
    expect: { recommendation: 3, request: 4, reason: 'avg in-flight 3 / target 1 → 3; held by downscale stabilization (max 4 in the last 5m)' },
  },
  {
    // last 1m: 1, now 3 → min 1, capped at current 2: stay, never go down
    title: 'a low recent recommendation never turns an upscale into a downscale',
    current: 2,
    avgInFlight: 3,
    history: [[30 * SEC, 1]],
    expect: { recommendation: 3, request: 2, reason: 'avg in-flight 3 / target 1 → 3; held by upscale stabilization (min 2 in the last 1m)' },
  },
  {
    // the 4 is 5m + 1ms old, so dropped; last 5m: 3, 3 → max 3
    title: 'downscale released once higher recommendations age out',
    current: 4,
    avgInFlight: 3,
    history: [
      [5 * MIN + 1, 4],
      [MIN, 3],
    ],
    expect: { recommendation: 3, request: 3, reason: 'avg in-flight 3 / target 1 → 3' },
  },
  {
    // 3 > 2 (factor ceil max(3, 3) = 3), but 1m − 1ms since start < 1m: stays 2
    title: 'upscale held during the first upscale period after start',
    current: 2,
    avgInFlight: 3,
    sinceStart: MIN - 1,
    expect: { recommendation: 3, request: 2, reason: 'avg in-flight 3 / target 1 → 3; held by upscale stabilization (less than 1m since start)' },
  },
  {
    // 1m since start is no longer "less than 1m"; the only recommendation in the last 1m is this 3
    title: 'upscale allowed once the upscale period has passed since start',
    current: 2,
    avgInFlight: 3,
    sinceStart: MIN,
    expect: { recommendation: 3, request: 3, reason: 'avg in-flight 3 / target 1 → 3' },
  },
  {
    // recommendations in the last 1m (1m ago inclusive): 2, and now 3 → min 2
    title: 'upscale held at the min recommendation of the last upscale period',
    current: 2,
    avgInFlight: 3,
    history: [[MIN, 2]],
    expect: { recommendation: 3, request: 2, reason: 'avg in-flight 3 / target 1 → 3; held by upscale stabilization (min 2 in the last 1m)' },
  },
  {
    // 6 within max(5, ceil(6)) = 6; last 1m: 5, 6, 6 → min 5, between 4 and 6
    title: 'upscale only part of the way while stabilizing',
    current: 4,
    avgInFlight: 6,
    history: [
      [50 * SEC, 5],
      [20 * SEC, 6],
    ],
    expect: { recommendation: 6, request: 5, reason: 'avg in-flight 6 / target 1 → 6; held by upscale stabilization (min 5 in the last 1m)' },
  },
  {
    // the 2 is 1m + 1ms old: still kept for the 5m downscale period, but outside the 1m; min 3
    title: 'upscale released once lower recommendations age out',
    current: 2,
    avgInFlight: 3,
    history: [[MIN + 1, 2]],
    expect: { recommendation: 3, request: 3, reason: 'avg in-flight 3 / target 1 → 3' },
  },
];

const history = (entries: Array<[number, number]>): Recommendation[] => entries.map(([ago, replicas]) => ({ at: NOW - ago, replicas }));

for (const c of cases) {
  test(`autoscale: ${c.title}`, (t) => {
    const decision = autoscale({
      current: c.current,
      avgInFlight: c.avgInFlight,
      history: history(c.history ?? []),
      startedAt: NOW - (c.sinceStart ?? 60 * MIN),
      now: NOW,
      config: { ...CONFIG, ...c.config },
    });
    t.deepEqual({ recommendation: decision.recommendation, request: decision.request, reason: decision.reason }, c.expect);
  });
}

const collections: Array<{ title: string; config?: Partial<AutoscalingSpec>; history: Array<[number, number]>; kept: Array<[number, number]> }> = [
  {
    // keeps max(5m, 1m) = 5m, inclusive, then appends this tick's 6
    title: 'the downscale period when it is the longer',
    history: [
      [6 * MIN, 9],
      [5 * MIN + 1, 8],
      [5 * MIN, 7],
      [10 * SEC, 6],
    ],
    kept: [
      [5 * MIN, 7],
      [10 * SEC, 6],
      [0, 6],
    ],
  },
  {
    // keeps max(30s, 2m) = 2m
    title: 'the upscale period when it is the longer',
    config: { downscaleStabilizationMs: 30 * SEC, upscaleStabilizationMs: 2 * MIN },
    history: [
      [2 * MIN + 1, 8],
      [2 * MIN, 7],
      [10 * SEC, 6],
    ],
    kept: [
      [2 * MIN, 7],
      [10 * SEC, 6],
      [0, 6],
    ],
  },
];

for (const c of collections) {
  test(`autoscale keeps history for ${c.title}, without touching its input`, (t) => {
    const input = Object.freeze(history(c.history).map((r) => Object.freeze(r)));
    const decision = autoscale({
      current: 6,
      avgInFlight: 6,
      history: input,
      startedAt: NOW - 60 * MIN,
      now: NOW,
      config: { ...CONFIG, ...c.config },
    });
    t.deepEqual(decision.history, history(c.kept));
    t.deepEqual(input, history(c.history));
  });
}

const windows: Array<{ title: string; samples: Array<[number, number]>; expected: number }> = [
  { title: 'no samples', samples: [], expected: 0 },
  // (2 + 4 + 9) / 3 = 5
  {
    title: 'the mean of the samples in the window',
    samples: [
      [50 * SEC, 2],
      [30 * SEC, 4],
      [10 * SEC, 9],
    ],
    expected: 5,
  },
  // the sample exactly 1m old is out: (4 + 2) / 2 = 3
  {
    title: 'a sample as old as the window is out',
    samples: [
      [MIN, 100],
      [MIN - 1, 4],
      [0, 2],
    ],
    expected: 3,
  },
  { title: 'only samples older than the window', samples: [[MIN + 1, 5]], expected: 0 },
];

for (const c of windows) {
  test(`averageInFlight: ${c.title}`, (t) => {
    const samples = c.samples.map(([ago, inFlight]) => ({ at: NOW - ago, inFlight }));
    t.is(averageInFlight(samples, MIN, NOW), c.expected);
  });
}

test('a load step scales up stepwise and back down to min_replicas only after downscale stabilization', (t) => {
  // Target 1, 16 in flight for the first 10 minutes, then none; Cortex ticks every 10s.
  const tick = 10 * SEC;
  const loadEndsAt = 10 * MIN;
  let current = 1;
  let recs: Recommendation[] = [];
  const changes: Array<[number, number]> = [];
  for (let at = 0; at < 60 * MIN; at += tick) {
    const decision = autoscale({ current, avgInFlight: at < loadEndsAt ? 16 : 0, history: recs, startedAt: 0, now: at, config: CONFIG });
    if (decision.request !== current) changes.push([at / SEC, decision.request]);
    current = decision.request;
    recs = decision.history;
  }
  t.deepEqual(changes, [
    // Up: from c the recommendation is max(c + 1, ceil(1.5c)), first recorded the tick after reaching c;
    // it is granted once the previous, lower one is more than 1m old: 70s per step (the first waits 1m from start).
    [60, 2],
    [130, 3], // max(3, ceil(3))
    [200, 5], // ceil(4.5)
    [270, 8], // ceil(7.5)
    [340, 12],
    [410, 16], // ceil(18) = 18 > 16 needed
    // Down: the load stops at 600s, but 16 was recommended until 590s, so 16 holds until 590 + 300 < t, i.e. 900s.
    // From c the recommendation is min(c − 1, ceil(0.75c)), granted 310s after the step to c.
    [900, 12],
    [1210, 9],
    [1520, 7], // ceil(6.75)
    [1830, 6], // ceil(5.25)
    [2140, 5], // ceil(4.5)
    [2450, 4], // ceil(3.75)
    [2760, 3],
    [3070, 2], // ceil(2.25) = 3, so c − 1
    [3380, 1], // ceil(1.5) = 2, so c − 1
  ]);
  // Recommendations from the last 5m, inclusive, at one per 10s: 31.
  t.is(recs.length, 31);
});
