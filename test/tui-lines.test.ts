// The plain view: timestamped lines from the same session events the TUI draws, no escape codes.
import { PassThrough } from 'node:stream';
import test from 'ava';
import { printLines, sessionEvents } from '../src/tui/lines.js';
import { api, FakeSession, iso, replica, snapshot } from './fixtures/tui/session.js';

function capture(session: FakeSession) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const stop = printLines(session, out);
  return { stop, lines: () => text.trimEnd().split('\n') };
}

const STAMP = /^\d\d:\d\d:\d\d /;
const unstamped = (lines: string[]): string[] => lines.map((l) => l.replace(STAMP, ''));

test('at start: the backend, each endpoint, and each replica as it is', (t) => {
  const session = new FakeSession(snapshot([api({ replicas: [replica('classifier-1', { status: 'starting' })] })]));
  const { lines } = capture(session);
  t.true(lines().every((l) => STAMP.test(l)));
  t.deepEqual(unstamped(lines()), [
    'process backend: replicas are child processes on loopback ports',
    'endpoint classifier: http://localhost:8888/image/classifier',
    'classifier-1 starting',
  ]);
});

test('lines logged before the view listened come first, once', (t) => {
  const session = new FakeSession(snapshot([api({ replicas: [] })]));
  session.early = [{ api: 'cortex', replica: 'cortex', time: new Date(iso(5)), level: 'INFO', message: 'removed Deployment/image-slow from the cluster (not in cortex.yaml)' }];
  const { lines } = capture(session);
  session.log('classifier-1', 'Server listening');
  t.deepEqual(unstamped(lines()).slice(2), ['cortex INFO removed Deployment/image-slow from the cluster (not in cortex.yaml)', 'classifier-1 LOG Server listening']);
  // A second view (another terminal's) does not get them again.
  t.deepEqual(session.earlyLogs(), []);
});

test('replica status transitions, with the version a replica comes ready with, and why one fails', (t) => {
  const session = new FakeSession(snapshot([api({ replicas: [replica('classifier-1', { status: 'starting' })] })]));
  const { lines } = capture(session);
  session.set(snapshot([api({ replicas: [replica('classifier-1', { status: 'ready', version: 'abc123' }), replica('classifier-2', { status: 'starting' })] })]));
  session.set(snapshot([api({ replicas: [replica('classifier-1', { status: 'ready' }), replica('classifier-2', { status: 'error', error: 'exited with code 1' })] })]));
  session.set(snapshot([api({ replicas: [replica('classifier-1', { status: 'ready' })] })]));
  t.deepEqual(unstamped(lines()).slice(3), [
    'classifier-1 starting → ready (version abc123)',
    'classifier-2 starting',
    'classifier-2 starting → error: exited with code 1',
    'classifier-2 stopped',
  ]);
});

test('reloads: the new version and how long it took, or the error with file:line', (t) => {
  const session = new FakeSession(snapshot([api({ version: 'abc', lastReload: null })]));
  const { lines } = capture(session);
  session.set(snapshot([api({ version: 'def', lastReload: { version: 'def', at: iso(5), ms: 84, error: null } })]));
  session.set(
    snapshot([
      api({
        version: 'def',
        lastReload: { version: 'def', at: iso(9), ms: 30, error: { message: 'Expected ";" but found "x"', location: 'predictor.ts:3:5' } },
      }),
    ]),
  );
  // An unrelated change does not repeat the last reload.
  session.set(snapshot([api({ version: 'def', requested: 1, lastReload: session.current.apis[0]!.lastReload })]));
  const reloads = lines().slice(3);
  t.deepEqual(unstamped(reloads), ['reload classifier: version abc → def in 84 ms', 'reload classifier failed: predictor.ts:3:5: Expected ";" but found "x"']);
  // Stamped with when the reload happened, not when it was noticed.
  t.is(reloads[0]?.slice(0, 8), new Date(iso(5)).toTimeString().slice(0, 8));
});

test('scaling: requested replicas, with the autoscaler decision that made it', (t) => {
  const session = new FakeSession(snapshot([api({ requested: 1 })]));
  const { lines } = capture(session);
  session.set(snapshot([api({ requested: 3, autoscaler: { decision: 'avg in-flight 5.1 / target 2 → 3', at: iso(30) } })]));
  // cortex.yaml changed the count: no stale autoscaler reason attached.
  session.set(snapshot([api({ requested: 2, autoscaler: { decision: 'avg in-flight 5.1 / target 2 → 3', at: iso(30) } })]));
  t.deepEqual(unstamped(lines()).slice(3), ['classifier: requested 1 → 3 (avg in-flight 5.1 / target 2 → 3)', 'classifier: requested 3 → 2']);
});

test('apis added and removed', (t) => {
  const events = sessionEvents(snapshot([api()]), snapshot([api({ name: 'detector', replicas: [] })]));
  t.deepEqual(
    events.map((e) => e.text),
    ['endpoint detector: http://localhost:8888/image/detector', 'classifier removed'],
  );
});

test('log lines: time, replica, level, message; every line of a multi-line message stamped; no escape codes', (t) => {
  const session = new FakeSession();
  const { lines, stop } = capture(session);
  session.log('classifier-1', 'hello from predict');
  session.log('classifier-1', '\u001b[31mTypeError: boom\u001b[39m\n    at predict (predictor.ts:3:5)', 'ERROR');
  stop();
  session.log('classifier-1', 'after unsubscribe');
  t.deepEqual(unstamped(lines()).slice(3), [
    'classifier-1 LOG hello from predict',
    'classifier-1 ERROR TypeError: boom',
    'classifier-1 ERROR     at predict (predictor.ts:3:5)',
  ]);
  t.false(lines().join('\n').includes('\u001b'));
});

test('no escape codes anywhere in a session with every kind of event', (t) => {
  const session = new FakeSession(snapshot([api({ replicas: [replica('classifier-1', { status: 'starting' })] })]));
  const { lines } = capture(session);
  session.set(
    snapshot([
      api({
        requested: 2,
        replicas: [replica('classifier-1', { status: 'error', error: 'init failed' })],
        lastReload: { version: 'x', at: iso(9), ms: 1, error: { message: 'bad', location: null } },
        autoscaler: { decision: 'up', at: iso(9) },
      }),
    ]),
  );
  t.true(lines().length >= 6);
  t.false(lines().join('\n').includes('\u001b'));
});
