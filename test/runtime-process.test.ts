// The standalone runtime as a real process: configured by environment, ready after init,
// and on SIGTERM it finishes what is in flight before exiting.
import { fork, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { bundleOnce } from '../src/dev/bundler.js';
import { pushBundle } from '../runtime/client.js';
import { post } from './helpers/http.js';
import { startRuntime, waitReady } from './helpers/runtime-process.js';
import { fixtures, repoRoot } from './helpers/shared.js';

const behaviour = join(fixtures, 'predictors/behaviour.ts');

test('SIGTERM drains in-flight requests, then the process exits 0', async (t) => {
  const rt = await startRuntime(behaviour, { label: 'proc' });
  await waitReady(rt.url);
  const inFlight = post(`${rt.url}/`, { sleep: 800 });
  await new Promise((r) => setTimeout(r, 200));
  rt.child.kill('SIGTERM');
  const res = await inFlight;
  t.is(res.status, 200);
  t.like(res.body, { label: 'proc' });
  t.is(await rt.exited, 0);
  t.regex(rt.logs(), /SIGTERM: draining/);
});

test('a request that outlasts the drain deadline does not keep the process up', async (t) => {
  const rt = await startRuntime(behaviour, {}, { CORTEX_DRAIN_TIMEOUT_MS: '500' });
  t.teardown(() => rt.child.kill('SIGKILL'));
  await waitReady(rt.url);
  const stuck = post(`${rt.url}/`, { sleep: 10_000 }).catch(() => 'connection closed');
  await new Promise((r) => setTimeout(r, 200));
  const signalled = performance.now();
  rt.child.kill('SIGTERM');
  t.is(await rt.exited, 1);
  t.true(performance.now() - signalled < 2500);
  t.regex(rt.logs(), /still in flight after 500 ms \(CORTEX_DRAIN_TIMEOUT_MS\); exiting anyway/);
  await stuck;
});

for (const [env, message] of [
  [{ PORT: 'eighty' }, 'PORT must be an integer ≥ 0, got "eighty"'],
  [{ CORTEX_PREDICTOR_CONFIG: '[1, 2]' }, 'CORTEX_PREDICTOR_CONFIG must be a JSON object'],
  [{ CORTEX_INIT_TIMEOUT_MS: '0' }, 'CORTEX_INIT_TIMEOUT_MS must be an integer ≥ 1, got "0"'],
] as const) {
  test(`a bad setting (${Object.keys(env)[0]}) stops the runtime with one clear line and exit code 2`, async (t) => {
    const child = fork(join(repoRoot, 'dist/runtime/main.js'), [], { env: { ...process.env, ...env }, stdio: 'pipe' });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.once('exit', r));
    t.is(code, 2);
    t.is(err.trim(), `cortex runtime: ${message}`);
  });
}

test('a replica whose initial bundle fails to init stays live, not ready, and says why', async (t) => {
  const rt = await startRuntime(behaviour, { failInit: true });
  t.teardown(() => rt.child.kill('SIGKILL'));
  let ready: Response | undefined;
  for (let i = 0; i < 50; i++) {
    ready = await fetch(`${rt.url}/readyz`);
    if (((await ready.clone().json()) as { error?: string }).error !== 'the predictor is still loading') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.is(ready!.status, 503);
  t.regex(((await ready!.json()) as { error: string }).error, /init exploded on purpose/);
  t.is((await fetch(`${rt.url}/healthz`)).status, 200);
  const refused = await post(`${rt.url}/`, {});
  t.is(refused.status, 503);
  t.is(refused.headers.get('retry-after'), '1');
  t.regex((refused.body as { error: string }).error, /^no predictor is serving: init failed: init exploded on purpose/);
});

test('a predictor that rejects or throws in the background does not take the runtime down', async (t) => {
  const rt = await startRuntime(behaviour, { label: 'proc' });
  t.teardown(() => rt.child.kill('SIGKILL'));
  await waitReady(rt.url);
  t.is((await post(`${rt.url}/`, { background: 'reject' })).status, 200);
  t.is((await post(`${rt.url}/`, { background: 'throw' })).status, 200);
  // The timer's throw comes 10 ms after its request answered.
  await new Promise((r) => setTimeout(r, 100));
  t.is((await fetch(`${rt.url}/healthz`)).status, 200);
  t.like((await post(`${rt.url}/`, {})).body, { label: 'proc' });
  const metrics = await (await fetch(`${rt.url}/metrics`)).text();
  t.regex(metrics, /cortex_unhandled_errors_total\{kind="rejection"\} 1\n/);
  t.regex(metrics, /cortex_unhandled_errors_total\{kind="exception"\} 1\n/);
  t.regex(rt.logs(), /unhandled promise rejection at \S*behaviour\.ts:\d+:\d+: rejected in the background/);
  t.regex(rt.logs(), /uncaught exception at \S*behaviour\.ts:\d+:\d+: thrown in a timer/);
});

test('hot swaps leave no bundle files behind, and the bundle folder goes with the process', async (t) => {
  // What a replica killed with SIGKILL leaves: the next runtime to start removes it.
  const dead = spawnSync(process.execPath, ['-e', '']);
  const orphan = join(tmpdir(), `cortex-bundles-${dead.pid}-AbC123`);
  await mkdir(join(orphan, 'd-api-1'), { recursive: true });
  await writeFile(join(orphan, 'd-api-1', 'predictor-x-1.mjs'), 'export const predict = () => 1;');
  const rt = await startRuntime(behaviour, { label: 'v1' }, { CORTEX_ADMIN_TOKEN: 'token' });
  t.teardown(() => rt.child.kill('SIGKILL'));
  await waitReady(rt.url);
  const { code } = await bundleOnce(behaviour);
  for (const label of ['v2', 'v3', 'v4']) t.true((await pushBundle(rt.url, 'token', { code, config: { label }, version: label })).ok);
  t.like((await post(`${rt.url}/`, {})).body, { label: 'v4' });
  const own = readdirSync(tmpdir()).filter((name) => name.startsWith(`cortex-bundles-${rt.child.pid}-`));
  t.is(own.length, 1);
  const root = join(tmpdir(), own[0]!);
  const files = readdirSync(root).flatMap((dir) => readdirSync(join(root, dir)));
  t.deepEqual(files, []);
  t.false(existsSync(orphan));
  rt.child.kill('SIGTERM');
  t.is(await rt.exited, 0);
  t.false(existsSync(root));
});
