// The standalone runtime as a real process: configured by environment, ready after init,
// and on SIGTERM it finishes what is in flight before exiting.
import { fork, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
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
  // Answered during the drain, so the client does not send another request on the connection.
  t.is(res.headers.get('connection'), 'close');
  t.is(await rt.exited, 0);
  t.regex(rt.logs(), /SIGTERM: draining/);
});

test('SIGTERM under keep-alive load: every request sent before the drain began is answered', async (t) => {
  const rt = await startRuntime(behaviour, { label: 'load' });
  t.teardown(() => rt.child.kill('SIGKILL'));
  await waitReady(rt.url);
  // The moment the replica says it drains, as this process sees it: everything sent before
  // was on the wire when the signal arrived, or sent in the instant after.
  let drainingSince = Infinity;
  rt.child.stdout!.on('data', (d) => {
    if (/SIGTERM: draining/.test(String(d))) drainingSince = Math.min(drainingSince, performance.now());
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  t.teardown(() => agent.destroy());
  const outcomes: Array<{ sentAt: number; outcome: string }> = [];
  const one = () =>
    new Promise<boolean>((resolve) => {
      const sentAt = performance.now();
      const settle = (outcome: string) => {
        outcomes.push({ sentAt, outcome });
        resolve(outcome === '200');
      };
      const req = httpRequest(`${rt.url}/`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => settle(String(res.statusCode)));
        res.on('error', (err: NodeJS.ErrnoException) => settle(err.code ?? err.message));
      });
      req.on('error', (err: NodeJS.ErrnoException) => settle(err.code ?? err.message));
      req.end(JSON.stringify({ sleep: Math.floor(Math.random() * 5) }));
    });
  let exited = false;
  const clients = Array.from({ length: 32 }, async () => {
    while (!exited) if (!(await one())) await new Promise((r) => setTimeout(r, 5));
  });
  await new Promise((r) => setTimeout(r, 1000));
  rt.child.kill('SIGTERM');
  t.is(await rt.exited, 0);
  exited = true;
  await Promise.all(clients);

  const before = outcomes.filter((o) => o.sentAt < drainingSince);
  const failed = before.filter((o) => o.outcome !== '200').map((o) => o.outcome);
  t.true(before.length > 100, `only ${before.length} requests before the drain`);
  t.deepEqual(failed, [], `${failed.length} of ${before.length} requests sent before the drain failed`);
  t.log(`${before.length} requests sent before the drain, all answered 200; after it: ${JSON.stringify(tally(outcomes.filter((o) => o.sentAt >= drainingSince)))}`);
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

function tally(outcomes: Array<{ outcome: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { outcome } of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

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
