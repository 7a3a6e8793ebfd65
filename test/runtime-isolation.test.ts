// A bundle runs on a thread of its own: whatever it does while loading (an endless loop,
// process.exit(), patched globals, a stray timer) is refused or ends with its thread, and the
// code that serves keeps answering every request.
import { stat } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import anyTest from 'ava';
import { replicaBundleDir, removeBundleDir } from '../runtime/bundle-dir.js';
import { post } from './helpers/http.js';
import { pushBundle, startReplica, type TestReplica } from './helpers/replica.js';
import { fixtures } from './helpers/shared.js';

// One replica at a time: on a busy 2-core machine, several starting at once could starve a
// thread's heartbeat for longer than the short blocked-thread bound these tests use.
const test = anyTest.serial;
const behaviour = join(fixtures, 'predictors/behaviour.ts');
const blockedThreadMs = 3000;

/** Sends requests one after another until `until` settles; returns every answer that was not v1's 200. */
async function keepAsking(r: TestReplica, until: Promise<unknown>): Promise<{ answered: number; wrong: string[] }> {
  let done = false;
  void until.finally(() => (done = true));
  const wrong: string[] = [];
  let answered = 0;
  while (!done) {
    const res = await post(`${r.url}/`, { sleep: 1 });
    answered++;
    const label = (res.body as { label?: string }).label;
    if (res.status !== 200 || label !== 'v1') wrong.push(`${res.status} ${res.text}`);
  }
  return { answered, wrong };
}

test('an init stuck in an endless loop is refused, and the old code answers every request meanwhile', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' }, { blockedThreadMs });
  t.teardown(() => r.close());
  const swap = pushBundle(r, behaviour, { loopInit: true });
  const asked = await keepAsking(r, swap);
  const refused = await swap;
  t.is(refused.status, 422);
  t.regex(refused.body.error as string, /^init blocked the predictor's thread for \d+ ms .* \(at .*behaviour\.ts:\d+:\d+\)$/);
  t.regex(refused.body.location as string, /behaviour\.ts:\d+:\d+$/);
  t.deepEqual(asked.wrong, []);
  t.true(asked.answered > 3, `only ${asked.answered} answers while the loop ran`);
  t.is((await fetch(`${r.url}/readyz`)).status, 200);
  t.is((await pushBundle(r, behaviour, { label: 'v2' })).status, 200);
  t.like((await post(`${r.url}/`, {})).body, { label: 'v2' });
});

test('top-level code stuck in an endless loop is refused the same way', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' }, { blockedThreadMs });
  t.teardown(() => r.close());
  const swap = pushBundle(r, join(fixtures, 'predictors/loop-top-level.ts'), {});
  const asked = await keepAsking(r, swap);
  const refused = await swap;
  t.is(refused.status, 422);
  t.regex(refused.body.error as string, /^the predictor's top-level code blocked the predictor's thread/);
  t.regex(refused.body.location as string, /loop-top-level\.ts:2:\d+$/);
  t.deepEqual(asked.wrong, []);
});

test('process.exit() in init is refused and takes nothing else with it', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' });
  t.teardown(() => r.close());
  const swap = pushBundle(r, behaviour, { exitInit: true });
  const asked = await keepAsking(r, swap);
  const refused = await swap;
  t.is(refused.status, 422);
  t.regex(refused.body.error as string, /the predictor's thread exited \(code 3\) while running init/);
  t.deepEqual(asked.wrong, []);
  t.is((await fetch(`${r.url}/readyz`)).status, 200);
  t.is((await pushBundle(r, behaviour, { label: 'v2' })).status, 200);
  t.like((await post(`${r.url}/`, {})).body, { label: 'v2' });
});

test('a refused bundle that patched globals and left a timer running changes no later answer', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' });
  t.teardown(() => r.close());
  const refused = await pushBundle(r, behaviour, { patchAndThrow: true });
  t.is(refused.status, 422);
  t.regex(refused.body.error as string, /patched the globals, then threw/);
  await new Promise((res) => setTimeout(res, 100));
  const res = await post(`${r.url}/`, { x: 1 });
  t.is(res.status, 200);
  t.deepEqual(res.body, { label: 'v1', requestId: res.headers.get('x-request-id'), sample: { x: 1 } });
});

test('process.exit() in predict fails that request only; the predictor is started again', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' });
  t.teardown(() => r.close());
  const died = await post(`${r.url}/`, { exit: true });
  t.is(died.status, 500);
  t.regex((died.body as { error: string }).error, /the predictor's thread exited \(code 4\)/);
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${r.url}/readyz`)).status === 200) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  t.like((await post(`${r.url}/`, {})).body, { label: 'v1' });
});

for (const give of ['symbol', 'function'] as const) {
  test(`a ${give} result is a 500 that says why, not an empty 200`, async (t) => {
    const r = await startReplica(behaviour, { label: 'v1' });
    t.teardown(() => r.close());
    const res = await post(`${r.url}/`, { give });
    t.is(res.status, 500);
    t.regex((res.body as { error: string }).error, new RegExp(`not JSON-serialisable: predict returned a ${give}`));
  });
}

test('bundles are written in a folder made fresh for this process, private to its user', async (t) => {
  const dir = await replicaBundleDir({ deployment: 'd', name: 'a' });
  t.teardown(() => removeBundleDir(dir));
  const root = dirname(dir);
  // mkdtemp's random suffix: no other user can create the folder ahead of us by guessing its name.
  t.regex(basename(root), new RegExp(`^cortex-bundles-${process.pid}-\\w{6}$`));
  for (const path of [root, dir]) {
    const info = await stat(path);
    t.is(info.mode & 0o777, 0o700, path);
    t.is(info.uid, process.getuid!(), path);
  }
});

test('a replaced predictor is freed with its thread: 30 reloads of a 32 MiB predictor do not add up', async (t) => {
  const ballast = join(fixtures, 'predictors/ballast.ts');
  const r = await startReplica(ballast, {}, { predictTimeoutMs: 1000 });
  t.teardown(() => r.close());
  const before = process.memoryUsage().rss;
  for (let i = 1; i <= 30; i++) t.is((await pushBundle(r, ballast, { i })).status, 200);
  // Replaced threads end once their in-flight requests are done (none here).
  await new Promise((res) => setTimeout(res, 500));
  const grown = (process.memoryUsage().rss - before) / 2 ** 20;
  t.log(`RSS grew by ${grown.toFixed(0)} MiB over 30 reloads`);
  t.true(grown < 300, `RSS grew by ${grown.toFixed(0)} MiB over 30 reloads (960 MiB if none were freed)`);
  t.like((await post(`${r.url}/`, {})).body, { bytes: 32 * 1024 * 1024 });
});
