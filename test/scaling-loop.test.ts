// The autoscaler loop and the cortex.yaml change plan, as tables of cases: no backend, no clock.
import test from 'ava';
import { specChanges } from '../src/dev/spec-changes.js';
import { AutoscalerLoop, decisionEvery } from '../src/scaling/loop.js';
import { parseSpec } from '../src/spec/index.js';

const spec = parseSpec('- kind: deployment\n  name: d\n- kind: api\n  name: a\n  predictor:\n    path: p.ts\n  autoscaling: { window: 10s, target_replica_concurrency: 1, upscale_stabilization_period: 0s, max_replicas: 10 }\n', '/project/cortex.yaml');
const api = spec.apis[0]!;

let now = 0;

/** A loop over one api with `inFlight` requests in flight at every tick, and the counts it asked for. */
function fixture(inFlight: number) {
  const scaled: number[] = [];
  let requested = 1;
  const target = { requested: () => requested, scale: async (_: string, n: number) => void scaled.push((requested = n)) };
  const samples = { inFlightSamples: (name: string) => (name === 'a' ? [{ at: now, inFlight }] : []) };
  return { loop: new AutoscalerLoop(target, samples), scaled };
}

test('the loop decides once its period is due, scales when the answer differs, and says why', async (t) => {
  const { loop, scaled } = fixture(3);
  now = 1_000_000;
  loop.track(api, now);
  await loop.tick([api], now);
  t.deepEqual(scaled, [], 'not due yet');
  now += decisionEvery(api);
  await loop.tick([api], now);
  t.deepEqual(scaled, [2], 'avg 3 in flight, target 1: up, clamped by max_upscale_factor');
  t.regex(loop.decision('a')!.decision, /avg in-flight 3 \/ target 1 → 3/);
  loop.forget('a');
  t.is(loop.decision('a'), null);
});

test('no samples, no decision', async (t) => {
  const loop = new AutoscalerLoop({ requested: () => 1, scale: async () => t.fail() }, { inFlightSamples: () => [] });
  loop.track(api, 0);
  await loop.tick([api], 60_000);
  t.is(loop.decision('a'), null);
});

const running = (entries: Array<[string, string, Record<string, unknown>]>) => new Map(entries.map(([name, path, config]) => [name, { predictor: { path, config, env: {} } }] as const));

for (const [title, before, expected] of [
  ['unchanged', running([['a', api.predictor.path, {}]]), { build: [], removed: [], reconfigured: [] }],
  ['a new api is built', running([]), { build: ['a'], removed: [], reconfigured: [] }],
  ['a moved predictor is built anew', running([['a', '/elsewhere/p.ts', {}]]), { build: ['a'], removed: [], reconfigured: [] }],
  ['a new config reloads', running([['a', api.predictor.path, { model: 'old' }]]), { build: [], removed: [], reconfigured: ['a'] }],
  ['an api gone from the spec is removed', running([['a', api.predictor.path, {}], ['b', '/project/b.ts', {}]]), { build: [], removed: ['b'], reconfigured: [] }],
] as const) {
  test(`specChanges: ${title}`, (t) => {
    const changes = specChanges(before as never, spec);
    t.deepEqual({ ...changes, build: changes.build.map((a) => a.name) }, expected as never);
  });
}
