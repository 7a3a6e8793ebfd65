// The standalone runtime as a real process: configured by environment, ready after init,
// and on SIGTERM it finishes what is in flight before exiting.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
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

test('a bad setting stops the runtime with one clear line and exit code 2', async (t) => {
  const child = fork(join(repoRoot, 'dist/runtime/main.js'), [], { env: { ...process.env, PORT: 'eighty' }, stdio: 'pipe' });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.once('exit', r));
  t.is(code, 2);
  t.is(err.trim(), 'cortex runtime: PORT must be an integer ≥ 0, got "eighty"');
});

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
  t.is((await post(`${rt.url}/`, {})).status, 503);
});
