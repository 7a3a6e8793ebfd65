// The TUI's panes, rendered for real by Ink from snapshots the test builds.
import test from 'ava';
import { render } from 'ink-testing-library';
import { Header } from '../src/tui/header.js';
import { Help } from '../src/tui/help.js';
import { KeyBar } from '../src/tui/key-bar.js';
import { Command, commandFor, keyBindings } from '../src/tui/keys.js';
import { LatencyPane } from '../src/tui/latency-pane.js';
import { palette, statusColor } from '../src/tui/palette.js';
import { ReplicasPane } from '../src/tui/replicas-pane.js';
import { sparkline } from '../src/tui/sparkline.js';
import { api, iso, replica } from './fixtures/tui/session.js';

const frame = (node: React.ReactElement): string => render(node).lastFrame() ?? '';
const rows = (text: string): string[] => text.split('\n');

test('header: deployment/api, status, readiness, version, backend, endpoint and the last reload', (t) => {
  const out = frame(<Header api={api({ requested: 2, available: 2, upToDate: 1 })} backend="process" />);
  const [first, second] = rows(out);
  t.regex(first ?? '', /^image\/classifier {2}live {2}2\/2 ready, 1 up to date {2}predictor abc123def456 {2}process backend$/);
  t.regex(second ?? '', /^http:\/\/localhost:8888\/image\/classifier {2}reloaded \d\d:\d\d:\d\d in 84 ms$/);
});

test('header: while the session stops, the replicas left instead of a readiness of nothing wanted', (t) => {
  const out = frame(<Header api={api({ requested: 0, available: 1 })} backend="process" stopping />);
  t.regex(rows(out)[0] ?? '', /^image\/classifier {2}stopping {2}1 replica left {2}predictor abc123def456 {2}process backend$/);
  t.notRegex(out, /ready/);
});

test('header: a failed reload shows with file:line, and that the old code still serves', (t) => {
  const failed = api({
    lastReload: { version: 'abc123def456', at: iso(9), ms: 31, error: { message: 'Expected ";" but found "x"\n  code frame', location: 'predictor.ts:3:5' } },
  });
  const out = frame(<Header api={failed} backend="process" />);
  t.regex(out, /reload failed \d\d:\d\d:\d\d, old code serving/);
  t.true(rows(out).includes('✗ predictor.ts:3:5: Expected ";" but found "x"'), out);
  t.notRegex(out, /code frame/);
});

test('header: the autoscaler decision as a line of its own', (t) => {
  const out = frame(<Header api={api({ autoscaler: { decision: 'avg in-flight 5.1 / target 2 → 3', at: iso(10) } })} backend="process" />);
  t.regex(out, /autoscaler \d\d:\d\d:\d\d avg in-flight 5\.1 \/ target 2 → 3/);
});

test('replicas pane: one row per replica with its status, figures and uptime; no API column for one api', (t) => {
  const now = Date.parse(iso(0));
  const replicas = [
    replica('classifier-1', { status: 'ready', inFlight: 3, requests: 120, p50Ms: 12.4, startedAt: iso(-185), restarts: 0 }),
    replica('classifier-2', { status: 'starting', inFlight: 0, requests: 0, p50Ms: null, startedAt: iso(-4), restarts: 2 }),
    replica('classifier-3', { status: 'reloading', startedAt: iso(-3700) }),
    replica('classifier-4', { status: 'stopping' }),
    replica('classifier-5', { status: 'error', error: 'the runtime exited with code 1 before listening\nstack' }),
  ];
  const out = frame(<ReplicasPane apis={[api({ replicas })]} width={100} now={now} />);
  const lines = rows(out);
  t.regex(lines[0] ?? '', /^ID +STATUS +IN-FLIGHT +REQUESTS +P50 +UPTIME +RESTARTS$/);
  t.regex(lines[1] ?? '', /^classifier-1 +ready +3 +120 +12 ms +3m05s +0$/);
  t.regex(lines[2] ?? '', /^classifier-2 +starting +0 +0 +— +4s +2$/);
  t.regex(lines[3] ?? '', /^classifier-3 +reloading .* 1h01m/);
  t.regex(lines[4] ?? '', /^classifier-4 +stopping /);
  t.regex(lines[5] ?? '', /^classifier-5 +error /);
  t.is(lines[6], 'classifier-5: the runtime exited with code 1 before listening');
});

test('replicas pane: an API column only when the session serves several apis', (t) => {
  const apis = [api(), api({ name: 'detector', replicas: [replica('detector-1')] })];
  const out = frame(<ReplicasPane apis={apis} width={100} now={Date.now()} />);
  t.regex(out, /^API +ID +STATUS/);
  t.regex(out, /\ndetector +detector-1 +ready/);
});

test('replicas pane: more replicas than fit become "+N more"', (t) => {
  const replicas = Array.from({ length: 9 }, (_, i) => replica(`classifier-${i + 1}`));
  const lines = rows(frame(<ReplicasPane apis={[api({ replicas })]} width={80} now={Date.now()} />));
  t.is(lines.length, 1 + 5 + 1);
  t.is(lines.at(-1), '+4 more');
});

test('sparkline: scaled to the largest point; a missing point is blank, zero the lowest bar', (t) => {
  t.is(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8), '▁▂▃▄▅▆▇█');
  t.is(sparkline([null, 0, 14, 7], 4), ' ▁█▅');
  t.is(sparkline([1, 2, 3, 4], 2), '▆█', 'the most recent points when narrower than the series');
  t.is(sparkline([0, 0], 4), '  ▁▁');
  t.is(sparkline([5], 0), '');
});

test('latency pane: p50, p99 and req/s sparklines with current figures, and status counts', (t) => {
  const base = api().traffic;
  const traffic = {
    reqPerSec: [...Array.from({ length: 56 }, () => 0), 2, 4, 6, 8],
    p50Ms: [...Array.from({ length: 56 }, () => null), 10, 20, 30, 40],
    p99Ms: [...Array.from({ length: 56 }, () => null), 40, 40, 40, 40],
    now: { reqPerSec: 8.2, p50Ms: 40, p99Ms: 4.25, avgMs: 30 },
    windows: { rateSeconds: 5, latencySeconds: 60 },
    counts: { '2xx': 1234, '4xx': 0, '5xx': 3 },
  } satisfies typeof base;
  const lines = rows(frame(<LatencyPane traffic={traffic} width={80} />));
  // Each figure with the window it covers: the rate now, the latencies over the minute.
  t.regex(lines[0] ?? '', /^p50 {3} {56}▃▅▆█ +40 ms {2}1m$/);
  t.regex(lines[1] ?? '', /^p99 {3} {56}████ +4\.3 ms {2}1m$/);
  t.regex(lines[2] ?? '', /^req\/s ▁{56}▃▅▆█ +8\.2\/s {2}5s$/);
  t.is(lines[3], '2XX 1234  4XX 0  5XX 3');
  t.true(lines.every((l) => l.length <= 80));
});

test('key bar and help both come from the one key table', (t) => {
  const bar = frame(<KeyBar />);
  t.is(bar, 'q quit  r reload  l logs  ? help');
  const help = frame(<Help />);
  for (const b of keyBindings) t.true(help.includes(b.description), b.description);
  t.regex(help, /q, Ctrl-C +stop every replica, then exit/);
});

test('key bar: a notice after the keys', (t) => {
  t.is(frame(<KeyBar notice={{ text: 'logs hidden, 3 new lines', tone: 'muted' }} />), 'q quit  r reload  l logs  ? help  logs hidden, 3 new lines');
});

test('keys: presses map to commands through the table', (t) => {
  t.is(commandFor('q', { ctrl: false }), Command.Quit);
  t.is(commandFor('c', { ctrl: true }), Command.Quit);
  t.is(commandFor('c', { ctrl: false }), undefined);
  t.is(commandFor('r', { ctrl: false }), Command.Reload);
  t.is(commandFor('l', { ctrl: false }), Command.ToggleLogs);
  t.is(commandFor('?', { ctrl: false }), Command.Help);
  t.is(commandFor('r', { ctrl: true }), undefined);
});

test('palette: k9s status colours', (t) => {
  t.is(statusColor('ready'), palette.ok);
  t.is(statusColor('live'), palette.ok);
  t.is(statusColor('starting'), palette.pending);
  t.is(statusColor('reloading'), palette.pending);
  t.is(statusColor('error'), palette.error);
  t.is(statusColor('stopping'), palette.stopping);
  t.deepEqual([palette.ok, palette.error, palette.stopping, palette.muted], ['green', 'red', 'magenta', 'gray']);
});

test('replicas pane: a narrow terminal drops the least telling figures before it cuts an id', (t) => {
  const replicas = [replica('image-classifier-v2-1'), replica('image-classifier-v2-2')];
  const at = (width: number): string[] => rows(frame(<ReplicasPane apis={[api({ replicas })]} width={width} now={Date.now()} />));
  t.regex(at(80)[0] ?? '', /^ID +STATUS +IN-FLIGHT +REQUESTS +P50 +UPTIME$/);
  t.regex(at(60)[0] ?? '', /^ID +STATUS +REQUESTS +P50$/);
  t.regex(at(60)[2] ?? '', /^image-classifier-v2-2 +ready/);
  const tiny = at(24);
  t.regex(tiny[0] ?? '', /^ID +STATUS$/);
  t.regex(tiny[2] ?? '', /^im.*….*-2 +ready$/);
  t.true(tiny.every((l) => l.length <= 24));
});
