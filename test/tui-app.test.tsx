// The whole live screen against a session source the test drives: keys, logs, and whether it
// still fits an 80×24 terminal.
import { EventEmitter } from 'node:events';
import anyTest from 'ava';
import { render } from 'ink-testing-library';
import { DevApp, renderDevTui, type DevAppProps } from '../src/tui/dev-app.js';
import { keyBindings, type QuitEffect } from '../src/tui/keys.js';
import { api, delay, FakeSession, iso, replica, snapshot, waitFor } from './fixtures/tui/session.js';

// One Ink app at a time: timings below assume the process is not busy drawing other apps.
const test = anyTest.serial;

// Long enough for Ink to subscribe to input and for the 200 ms snapshot throttle to pass.
const SETTLE = 250;

async function start(session: FakeSession, columns = 100, rows?: number, props: Omit<DevAppProps, 'session'> = {}) {
  const app = render(<DevApp session={session} {...props} />);
  if (columns !== 100 || rows) {
    // ink-testing-library's terminal is 100 columns wide (and the app takes it as 24 rows);
    // resize it the way a terminal does.
    Object.defineProperty(app.stdout, 'columns', { value: columns });
    if (rows) Object.defineProperty(app.stdout, 'rows', { value: rows });
    app.stdout.emit('resize');
    // The app re-renders for the new width on its next tick.
    await delay(SETTLE);
  }
  // Ink reads keys once it listens on stdin.
  await waitFor(() => app.stdin.listenerCount('readable') > 0, 'Ink to read keys');
  const press = async (input: string): Promise<void> => {
    app.stdin.write(input);
    // Time for the promises a key starts (stop, reload) to settle.
    await delay(20);
  };
  return { ...app, press, frame: () => app.lastFrame() ?? '' };
}

const six = snapshot([
  api({
    requested: 6,
    available: 5,
    upToDate: 5,
    status: 'updating',
    autoscaler: { decision: 'avg in-flight 11.4 / target 2 → 6, within max_upscale_factor 1.5', at: iso(30) },
    lastReload: {
      version: 'abc123def456',
      at: iso(20),
      ms: 40,
      error: { location: 'examples/image-classifier/predictor.ts:3:5', message: `Expected ";" but found "x" ${'and then a very long explanation '.repeat(4)}` },
    },
    replicas: Array.from({ length: 6 }, (_, i) =>
      replica(`classifier-${i + 1}`, { status: i === 5 ? 'error' : 'ready', error: i === 5 ? 'init failed: '.repeat(20) : null }),
    ),
    traffic: {
      ...api().traffic,
      reqPerSec: Array.from({ length: 60 }, (_, i) => i % 9),
      p50Ms: Array.from({ length: 60 }, (_, i) => 10 + (i % 5)),
      p99Ms: Array.from({ length: 60 }, (_, i) => 40 + (i % 7)),
      now: { reqPerSec: 12.5, p50Ms: 13, p99Ms: 46, avgMs: 15 },
      counts: { '2xx': 123456, '4xx': 12, '5xx': 3 },
    },
  }),
]);

test('at 80×24 with six replicas, every line fits and the live area is well under 24 rows', async (t) => {
  const app = await start(new FakeSession(six), 80);
  const lines = app.frame().split('\n');
  for (const line of lines) t.true([...line].length <= 80, `${[...line].length} columns: ${line}`);
  t.true(lines.length <= 20, `${lines.length} rows`);
  t.true(lines.some((l) => l.startsWith('✗ examples/image-classifier/predictor.ts:3:5: Expected ";"') && l.endsWith('…')));
  t.true(lines.some((l) => /^classifier-6 +error/.test(l)));
  app.unmount();
});

test('the live area stays the same height however many log lines have gone by', async (t) => {
  const session = new FakeSession(six);
  const app = await start(session, 80);
  const height = app.frame().split('\n').length;
  for (let i = 0; i < 30; i += 1) session.log('classifier-1', `line ${i} ${'x'.repeat(100)}`);
  await delay(SETTLE);
  const lines = app.frame().split('\n');
  // ink-testing-library's frame is everything <Static> printed, then the live area.
  const live = lines.slice(lines.findIndex((l) => l.startsWith('image/classifier')));
  t.is(live.length, height);
  t.true(lines.every((l) => [...l].length <= 80));
  app.unmount();
});

test('log lines are prefixed with the replica id and level, above the live panes', async (t) => {
  const session = new FakeSession();
  const app = await start(session);
  session.log('classifier-1', 'hello from predict');
  session.log('cortex', 'reloaded classifier', 'INFO');
  await delay(SETTLE);
  const lines = app.frame().split('\n');
  t.is(lines[0], 'classifier-1 LOG   hello from predict');
  t.is(lines[1], 'cortex       INFO  reloaded classifier');
  t.regex(lines[2] ?? '', /^image\/classifier/);
  app.unmount();
});

test('lines logged before the view was drawn (the first apply\'s notes) are the first log lines', async (t) => {
  const session = new FakeSession();
  session.early = [{ api: 'cortex', replica: 'cortex', time: new Date(), level: 'INFO', message: 'removed Deployment/image-slow from the cluster (not in cortex.yaml)' }];
  const app = await start(session);
  session.log('classifier-1', 'hello from predict');
  await delay(SETTLE);
  const lines = app.frame().split('\n');
  t.is(lines[0], 'cortex       INFO  removed Deployment/image-slow from the cluster (not in cortex.yaml)');
  t.is(lines[1], 'classifier-1 LOG   hello from predict');
  app.unmount();
});

test('l holds log output back, and prints what came meanwhile when shown again', async (t) => {
  const session = new FakeSession();
  const app = await start(session);
  await app.press('l');
  session.log('classifier-1', 'while hidden 1');
  session.log('classifier-1', 'while hidden 2');
  await delay(SETTLE);
  t.notRegex(app.frame(), /while hidden/);
  t.regex(app.frame(), /logs hidden, 2 new lines$/);
  await app.press('l');
  session.log('classifier-1', 'shown again');
  await delay(SETTLE);
  t.regex(app.frame(), /^classifier-1 LOG {3}while hidden 1\nclassifier-1 LOG {3}while hidden 2\nclassifier-1 LOG {3}shown again$/m);
  t.notRegex(app.frame(), /logs hidden/);
  app.unmount();
});

test('l: of a flood while hidden, the latest 200 lines are printed and the rest counted', async (t) => {
  const session = new FakeSession();
  const app = await start(session);
  await app.press('l');
  for (let i = 1; i <= 250; i += 1) session.log('classifier-1', `line ${i}`);
  await delay(SETTLE);
  await app.press('l');
  await delay(SETTLE);
  t.regex(app.frame(), /… 50 earlier lines while hidden are not shown/);
  t.notRegex(app.frame(), /LOG {3}line 50$/m);
  t.regex(app.frame(), /LOG {3}line 51$/m);
  t.regex(app.frame(), /LOG {3}line 250$/m);
  app.unmount();
});

test('the panes follow the session, at most five renders a second', async (t) => {
  const session = new FakeSession();
  const app = await start(session);
  const before = app.frames.length;
  for (let i = 1; i <= 50; i += 1) session.set(snapshot([api({ replicas: [replica('classifier-1', { requests: i })] })]));
  await delay(SETTLE);
  t.regex(app.frame(), /classifier-1 +ready +1 +50 /);
  t.true(app.frames.length - before <= 3, `${app.frames.length - before} renders`);
  app.unmount();
});

test('? shows the help from the key table in place of the panes, and hides it again', async (t) => {
  const app = await start(new FakeSession());
  await app.press('?');
  for (const b of keyBindings) t.true(app.frame().includes(b.description), b.description);
  t.notRegex(app.frame(), /IN-FLIGHT/);
  await app.press('?');
  t.notRegex(app.frame(), /show or hide this help/);
  t.regex(app.frame(), /IN-FLIGHT/);
  app.unmount();
});

// On kind, q takes cortex out of the cluster (or, with --keep, leaves it there): the key bar and
// the help say which before the key is pressed, within 80 columns; the local backends' words stay.
const quitCases: Array<[QuitEffect, bar: RegExp, help: RegExp]> = [
  ['stop', /^q quit {2}r reload/m, /q, Ctrl-C +stop every replica, then exit/],
  ['remove', /^q quit \(removes the apis from the cluster\) {2}r reload {2}l logs {2}\? help$/m, /q, Ctrl-C +remove the apis from the cluster, then exit; --keep keeps them/],
  ['keep', /^q quit \(the apis keep running: --keep\) {2}r reload {2}l logs {2}\? help$/m, /q, Ctrl-C +exit, leaving the apis running in the kind cluster \(--keep\)/],
];
for (const [quits, bar, help] of quitCases) {
  test(`quit on ${quits}: the key bar and the help say what q does there, at 80 columns`, async (t) => {
    const app = await start(new FakeSession(), 80, undefined, { quits });
    t.regex(app.frame(), bar);
    await app.press('?');
    t.regex(app.frame(), help);
    for (const line of app.frame().split('\n')) t.true([...line].length <= 80, `${[...line].length} columns: ${line}`);
    if (quits !== 'stop') t.notRegex(app.frame(), /stop every replica/);
    app.unmount();
  });
}

test('r asks the session to reload now', async (t) => {
  const session = new FakeSession();
  const app = await start(session);
  await app.press('r');
  t.is(session.reloads, 1);
  app.unmount();
});

test('a reload that cannot start says so in the key bar', async (t) => {
  const session = new FakeSession();
  session.reloadNow = async () => {
    throw new Error('no bundler\nat somewhere');
  };
  const app = await start(session);
  await app.press('r');
  t.regex(app.frame(), /\? help {2}reload failed: no bundler$/);
  app.unmount();
});

for (const [name, input] of [
  ['q', 'q'],
  ['Ctrl-C', '\u0003'],
] as const) {
  test(`${name} stops the session once, then exits`, async (t) => {
    const session = new FakeSession();
    let finish = (): void => {};
    session.stop = () => {
      session.stops += 1;
      return new Promise((resolve) => (finish = resolve));
    };
    const app = await start(session);
    await app.press(input);
    await app.press('q');
    t.is(session.stops, 1);
    t.regex(app.frame(), /\nstopping 1 replica \(draining\)… Ctrl-C kills it now$/);
    finish();
    // Unmounted: Ink no longer reads keys.
    await waitFor(() => app.stdin.listenerCount('readable') === 0, 'the app to exit');
    t.pass();
  });
}

test('at 80 columns the stopping line names what it waits for, in full, instead of the keys', async (t) => {
  const session = new FakeSession(snapshot([api({ replicas: [replica('classifier-1', { status: 'stopping' }), replica('classifier-2', { status: 'stopping', version: null, ready: false })] })]));
  session.stop = () => new Promise(() => {});
  const app = await start(session, 80);
  await app.press('q');
  const last = app.frame().split('\n').at(-1);
  t.is(last, 'stopping 2 replicas (1 draining, 1 in init)… Ctrl-C kills them now');
  t.regex(app.frame(), /^image\/classifier {2}stopping {2}2 replicas left /m);
  session.set(snapshot([api({ replicas: [], requested: 0, available: 0 })]));
  await delay(SETTLE);
  t.is(app.frame().split('\n').at(-1), 'stopping… Ctrl-C exits now');
  // Not "live 0/0 ready": nothing is wanted any more.
  t.regex(app.frame(), /^image\/classifier {2}stopping {2}0 replicas left /m);
  t.notRegex(app.frame(), /0\/0 ready/);
  t.regex(app.frame(), /every replica has stopped/);
  app.unmount();
});

test('a second Ctrl-C while stopping leaves at once, as a second SIGINT does', async (t) => {
  const session = new FakeSession();
  session.stop = () => new Promise(() => {});
  let forced = 0;
  const app = render(<DevApp session={session} onForceQuit={() => forced++} />);
  await waitFor(() => app.stdin.listenerCount('readable') > 0, 'Ink to read keys');
  app.stdin.write('q');
  await delay(20);
  t.is(forced, 0, 'the first press only stops');
  app.stdin.write('\u0003');
  await delay(20);
  t.is(forced, 1);
  app.unmount();
});

class FakeStdout extends EventEmitter {
  columns = 80;
  rows = 24;
  output = '';
  write(chunk: string): boolean {
    this.output += chunk;
    return true;
  }
}

class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  send(data: string): void {
    this.data = data;
    this.emit('readable');
  }
  read(): string | null {
    const { data } = this;
    this.data = null;
    return data;
  }
  setEncoding(): void {}
  setRawMode(): void {}
  ref(): void {}
  unref(): void {}
}

test('renderDevTui: draws to the given terminal, and q resolves waitUntilExit after stop', async (t) => {
  const session = new FakeSession();
  const stdout = new FakeStdout();
  const stdin = new FakeStdin();
  const tui = renderDevTui(session, { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream });
  await waitFor(() => stdin.listenerCount('readable') > 0, 'Ink to read keys');
  stdin.send('q');
  await tui.waitUntilExit();
  t.is(session.stops, 1);
  // Checked after exit: under CI=true Ink writes the frame only then.
  t.regex(stdout.output, /image\/classifier/);
});

test('several apis: a header each, one replicas table with an API column, a latency row each; it fits 80×24', async (t) => {
  const apis = ['classifier', 'detector', 'captioner'].map((name) =>
    api({ name, replicas: [replica(`${name}-1`), replica(`${name}-2`, { status: 'starting' })] }),
  );
  const app = await start(new FakeSession(snapshot(apis)), 80);
  const lines = app.frame().split('\n');
  t.true(lines.length < 24, `${lines.length} rows`);
  t.true(lines.every((l) => [...l].length <= 80));
  t.regex(app.frame(), /^API +ID +STATUS/m);
  for (const name of ['classifier', 'detector', 'captioner']) {
    t.regex(app.frame(), new RegExp(`^image/${name} +live`, 'm'));
    t.regex(app.frame(), new RegExp(`^${name} +▁+ +0/s 5s +p50 +— +p99 +— 1m +2XX 0 +4XX 0 +5XX 0$`, 'm'));
  }
  app.unmount();
});

/** The live area: everything from the first header down (the frame starts with printed logs). */
function liveArea(frame: string, first: RegExp): string[] {
  const lines = frame.split('\n');
  return lines.slice(lines.findIndex((l) => first.test(l)));
}

const crowded = ['classifier', 'detector', 'captioner'].map((name) =>
  api({
    name,
    requested: 2,
    autoscaler: { decision: 'avg in-flight 3.1 / target 2 → 2', at: iso(30) },
    lastReload: { version: 'abc123def456', at: iso(20), ms: 40, error: { location: `${name}/predictor.ts:20:13`, message: 'Unexpected ";"' } },
    replicas: [replica(`${name}-1`), replica(`${name}-2`)],
    traffic: { ...api().traffic, counts: { '2xx': 67021, '4xx': 84445, '5xx': 3 } },
  }),
);

test('three apis with failed reloads, autoscaler lines and five-digit counts still fit 80×24 without wrapping', async (t) => {
  const app = await start(new FakeSession(snapshot(crowded)), 80);
  const live = liveArea(app.frame(), /^image\/classifier/);
  t.true(live.length < 24, `${live.length} rows:\n${live.join('\n')}`);
  for (const line of live) t.true([...line].length <= 80, `${[...line].length} columns: ${line}`);
  // Each header keeps its error with file:line, in place of its endpoint.
  for (const name of ['classifier', 'detector', 'captioner']) t.regex(app.frame(), new RegExp(`^✗ ${name}/predictor.ts:20:13: Unexpected ";"$`, 'm'));
  t.regex(app.frame(), /^classifier .*2XX 67k +4XX 84k +5XX 3$/m);
  // Every replica still has its row.
  for (const name of ['classifier', 'detector', 'captioner']) t.regex(app.frame(), new RegExp(`^${name} +${name}-2 +ready`, 'm'));
  app.unmount();
});

test('a tall terminal has room for every header line, the autoscaler included', async (t) => {
  const app = await start(new FakeSession(snapshot(crowded)), 120, 60);
  t.is(app.frame().match(/^autoscaler /gm)?.length, 3);
  t.is(app.frame().match(/reload failed .*, old code serving/g)?.length, 3);
  app.unmount();
});

test('a cortex.yaml that could not be applied shows above the headers until a good one', async (t) => {
  const session = new FakeSession(snapshot([api()], { specError: { message: 'ic/cortex.yaml:18: api "classifier": autoscaling.max_replicas must be ≥ 1', at: iso(3) } }));
  const app = await start(session, 140);
  t.regex(app.frame(), /^✗ cortex\.yaml not applied, the previous spec runs: ic\/cortex\.yaml:18: api "classifier": autoscaling\.max_replicas must be ≥ 1$/m);
  session.set(snapshot([api()]));
  await delay(SETTLE);
  t.notRegex(app.frame(), /not applied/);
  app.unmount();
});

test('at 80 columns a cortex.yaml error wraps instead of losing the field, and the live area still fits 24 rows', async (t) => {
  const message = 'ic/cortex.yaml:17: api "classifier": autoscaling.max_replicas must be an integer ≥ 1, got "banana"';
  const app = await start(new FakeSession(snapshot([api()], { specError: { message, at: iso(3) } })), 80);
  const live = liveArea(app.frame(), /^✗ cortex\.yaml not applied/);
  t.true(live.length < 24, `${live.length} rows`);
  t.true(live.every((l) => [...l].length <= 80));
  t.is(live.slice(0, 2).join(' '), `✗ cortex.yaml not applied, the previous spec runs: ${message}`);
  app.unmount();
});

test('with every api deleted the screen says how to bring them back', async (t) => {
  const app = await start(new FakeSession(snapshot([])));
  t.regex(app.frame(), /no apis: each was deleted; save cortex\.yaml to bring them back/);
  app.unmount();
});

test('log lines printed as the last replicas stop stay aligned with the earlier ones', async (t) => {
  const session = new FakeSession(snapshot([api({ replicas: [replica('classifier-1')] })]));
  const app = await start(session);
  session.log('classifier-1', 'before');
  await delay(SETTLE);
  session.set(snapshot([api({ replicas: [] })]));
  await delay(SETTLE);
  session.log('classifier-1', 'after');
  await delay(SETTLE);
  const column = (text: string) => app.frame().split('\n').find((l) => l.endsWith(text))!.indexOf(text);
  t.is(column('after'), column('before'));
  app.unmount();
});
