// The autoscaler's line in the live view: what it does and why comes first and fits 80 and 120
// columns, the first minute's stabilization said in words, with the loop's numbers behind it.
import test from 'ava';
import { render } from 'ink-testing-library';
import type { AutoscalerDecision } from '../src/model/status.js';
import { autoscale } from '../src/scaling/policy.js';
import { AutoscalerLoop, decisionEvery } from '../src/scaling/loop.js';
import { parseSpec } from '../src/spec/index.js';
import { autoscalerLine } from '../src/tui/autoscaler-line.js';
import { clock } from '../src/tui/format.js';
import { Header } from '../src/tui/header.js';
import { api as apiSnapshot, iso } from './fixtures/tui/session.js';

// The example's autoscaling, and Cortex's default periods (upscale 1m, downscale 5m).
const spec = parseSpec('- kind: deployment\n  name: image\n- kind: api\n  name: classifier\n  predictor:\n    path: p.ts\n  autoscaling: { min_replicas: 1, max_replicas: 4, target_replica_concurrency: 2 }\n', '/project/cortex.yaml');
const api = spec.apis[0]!;
const T = Date.parse(iso(0));

/** The loop as the dev session runs it, `inFlight` requests in flight at every sample, one decision after `seconds`. */
async function decideAfter(seconds: number, inFlight: number, requested = 1) {
  const loop = new AutoscalerLoop({ requested: () => requested, scale: async (_, n) => void (requested = n) }, { inFlightSamples: () => [{ at: T + seconds * 1000, inFlight }] });
  loop.track(api, T);
  const before = loop.status(api)!;
  await loop.tick([api], T + seconds * 1000);
  return { before, after: loop.status(api)!, requested };
}

test('the first minute: a load that wants more is held, and the line says until when and why, at 80 and 120 columns', async (t) => {
  const { after, requested } = await decideAfter(10, 6.2);
  t.is(requested, 1, 'nothing scales in the first minute');
  t.like(after.facts, { kind: 'decided', from: 1, to: 1, wanted: 2, held: { direction: 'up', sinceStart: true } });
  const until = clock(iso(60));
  const at80 = autoscalerLine(after, 80);
  const at120 = autoscalerLine(after, 120);
  t.true([...at80].length <= 80, at80);
  t.true([...at120].length <= 120, at120);
  t.is(at80, `autoscaler  1 replica, load wants 2; no scale-up before ${until} (stabilization)`);
  t.regex(at80, new RegExp(`^autoscaler .*1 replica, load wants 2.*; no scale-up before ${until}`));
  t.regex(at120, new RegExp(`^autoscaler ${clock(iso(10))} {2}1 replica, load wants 2; no scale-up before ${until} \\(upscale_stabilization_period 1m\\)$`));
});

test('before the first decision the line says none has come, and when scaling up can start', async (t) => {
  const { before } = await decideAfter(10, 1);
  t.like(before.facts, { kind: 'waiting' });
  const at80 = autoscalerLine(before, 80);
  t.true([...at80].length <= 80, at80);
  t.regex(at80, new RegExp(`^autoscaler {2}no decision yet.*; no scale-up before ${clock(iso(60))}`));
  t.regex(autoscalerLine(before, 120), /\(upscale_stabilization_period 1m\)$/);
});

test('a scale-up: from → to first, then the numbers where there is room', async (t) => {
  const { after, requested } = await decideAfter(70, 6.2, 2);
  t.is(requested, 3);
  t.is(autoscalerLine(after, 120), `autoscaler ${clock(iso(70))}  2 → 3 replicas (max_upscale_factor 1.5)  in-flight 6.2, target 2 each`);
  t.is(autoscalerLine(after, 60), `autoscaler ${clock(iso(70))}  2 → 3 replicas (max_upscale_factor 1.5)`);
  t.is(autoscalerLine(after, 50), `autoscaler ${clock(iso(70))}  2 → 3 replicas`);
});

test('past the first period, a held change says what it waits for', (t) => {
  const config = api.autoscaling;
  // Down from 4: the last 5 minutes wanted 4, now 1 → held at 4.
  const d = autoscale({ current: 4, avgInFlight: 2, history: [{ at: T - 200_000, replicas: 4 }], startedAt: T - 600_000, now: T, config });
  t.deepEqual(d.held, { direction: 'down', sinceStart: false, periodMs: 300_000 });
  const decision: AutoscalerDecision = {
    decision: d.reason,
    at: iso(0),
    facts: { kind: 'decided', from: 4, to: d.request, wanted: d.recommendation, avgInFlight: 2, target: 2, held: { direction: 'down', sinceStart: false }, stabilization: { up: { period: '1m', from: iso(-540) }, down: { period: '5m', from: iso(-300) } } },
  };
  t.regex(autoscalerLine(decision, 80), /^autoscaler .*4 replicas, load wants 3; scale-down after 5m of lower load/);
});

test('the policy says which bound capped it and what held it, beside its text', (t) => {
  const config = { ...api.autoscaling, maxReplicas: 2 };
  const d = autoscale({ current: 2, avgInFlight: 20, history: [], startedAt: 0, now: 120_000, config });
  t.is(d.limit, 'max_replicas 2');
  t.is(d.held, undefined);
  const early = autoscale({ current: 1, avgInFlight: 4, history: [], startedAt: 0, now: 10_000, config: api.autoscaling });
  t.deepEqual(early.held, { direction: 'up', sinceStart: true, periodMs: 60_000 });
});

test('the header draws the worded line at the terminal\'s width; a decision with only its text is shown as before', async (t) => {
  const { after } = await decideAfter(10, 6.2);
  for (const width of [80, 120]) {
    const out = render(<Header api={apiSnapshot({ autoscaler: after })} backend="process" width={width} />).lastFrame() ?? '';
    const line = out.split('\n').find((l) => l.startsWith('autoscaler'))!;
    t.regex(line, /no scale-up before/, `${width}: ${line}`);
    t.true([...line].length <= width);
  }
  const textOnly = render(<Header api={apiSnapshot({ autoscaler: { decision: 'avg in-flight 5.1 / target 2 → 3', at: iso(10) } })} backend="process" width={80} />).lastFrame() ?? '';
  t.regex(textOnly, /^autoscaler \d\d:\d\d:\d\d avg in-flight 5\.1 \/ target 2 → 3$/m);
  t.true(decisionEvery(api) <= 10_000);
});
