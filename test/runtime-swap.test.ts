// The hot swap: bundles pushed through PUT /-/predictor replace the running code with no
// failed request; a bundle that cannot load or init is refused while the old one serves.
import { createServer } from 'node:http';
import { join } from 'node:path';
import test from 'ava';
import { bundleOnce } from '../src/dev/bundler.js';
import { pushBundle as pushFromDevLoop } from '../runtime/client.js';
import { listen, post } from './helpers/http.js';
import { pushBundle, pushCode, startReplica } from './helpers/replica.js';
import { fixtures } from './helpers/shared.js';

const behaviour = join(fixtures, 'predictors/behaviour.ts');

test('a swap under load fails no request, and the new code answers after it', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' });
  t.teardown(() => r.close());
  const seen = new Map<string, number>();
  const failures: string[] = [];
  let stop = false;
  const clients = Array.from({ length: 8 }, async () => {
    while (!stop) {
      const res = await post(`${r.url}/`, { sleep: 5 });
      if (res.status !== 200) failures.push(`${res.status} ${res.text}`);
      else {
        const label = (res.body as { label: string }).label;
        seen.set(label, (seen.get(label) ?? 0) + 1);
      }
    }
  });
  await new Promise((res) => setTimeout(res, 200));
  for (const label of ['v2', 'v3', 'v4']) {
    const swap = await pushBundle(r, behaviour, { label });
    t.is(swap.status, 200);
    await new Promise((res) => setTimeout(res, 100));
  }
  stop = true;
  await Promise.all(clients);
  t.deepEqual(failures, []);
  t.true((seen.get('v1') ?? 0) > 0 && (seen.get('v4') ?? 0) > 0, JSON.stringify([...seen]));
  t.like((await post(`${r.url}/`, {})).body, { label: 'v4' });
});

test('an init that throws is refused with 422 and the old code keeps answering', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' });
  t.teardown(() => r.close());
  const swap = await pushBundle(r, behaviour, { failInit: true });
  t.is(swap.status, 422);
  t.regex(swap.body.error as string, /init failed: init exploded on purpose \(at .*behaviour\.ts:\d+:\d+\)/);
  t.regex(swap.body.location as string, /behaviour\.ts:\d+:\d+$/);
  t.like((await post(`${r.url}/`, {})).body, { label: 'v1' });
  const ready = await fetch(`${r.url}/readyz`);
  t.is(ready.status, 200);
});

test('a bundle without predict() is refused with 422', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' });
  t.teardown(() => r.close());
  const swap = await pushBundle(r, join(fixtures, 'predictors/no-predict.ts'), {});
  t.is(swap.status, 422);
  t.regex(swap.body.error as string, /does not export a predict/);
  t.like((await post(`${r.url}/`, {})).body, { label: 'v1' });
});

test('the hot swap endpoint wants the token, as a bearer token or in its own header (which a pod proxy forwards)', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' });
  t.teardown(() => r.close());
  const put = (headers: Record<string, string>, label: string) =>
    fetch(`${r.url}/-/predictor`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ code: `export const predict = () => ({ label: ${JSON.stringify(label)} })`, config: {} }),
    });
  for (const headers of [{}, { authorization: 'Bearer wrong' }, { 'x-cortex-admin-token': 'wrong' }, { authorization: `Basic ${r.token}` }] as Array<Record<string, string>>) {
    t.is((await put(headers, 'pwned')).status, 401, JSON.stringify(headers));
  }
  t.like((await post(`${r.url}/`, {})).body, { label: 'v1' });
  t.is((await put({ 'x-cortex-admin-token': r.token }, 'v2')).status, 200);
  t.like((await post(`${r.url}/`, {})).body, { label: 'v2' });
  t.is((await put({ authorization: `Bearer ${r.token}` }, 'v3')).status, 200);
  t.like((await post(`${r.url}/`, {})).body, { label: 'v3' });
});

test('/metrics counts what was sent, by status, and names the predictor version', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' });
  t.teardown(() => r.close());
  for (let i = 0; i < 5; i++) await post(`${r.url}/`, {});
  for (let i = 0; i < 3; i++) await post(`${r.url}/`, { status: 404 });
  await post(`${r.url}/`, { throw: true });
  await post(`${r.url}/`, '{', 'application/json');
  const text = await (await fetch(`${r.url}/metrics`)).text();
  t.regex(text, /cortex_requests_total\{status="200"\} 5\n/);
  t.regex(text, /cortex_requests_total\{status="404"\} 3\n/);
  t.regex(text, /cortex_requests_total\{status="500"\} 1\n/);
  t.regex(text, /cortex_requests_total\{status="400"\} 1\n/);
  t.regex(text, /cortex_request_duration_seconds_count 10\n/);
  t.regex(text, /cortex_in_flight_requests 0\n/);
  t.regex(text, new RegExp(`cortex_predictor_info\\{version="${r.replica.slot.current!.version}"\\} 1`));
});

test('an init that never finishes is refused at the init timeout, and the next bundle swaps in', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' }, { initTimeoutMs: 300 });
  t.teardown(() => r.close());
  const { code } = await bundleOnce(behaviour);
  const started = performance.now();
  const hung = await pushCode(r, code, { hangInit: true });
  t.is(hung.status, 422);
  t.regex(hung.body.error as string, /^init did not finish within 300 ms/);
  t.true(performance.now() - started < 3000);
  t.like((await post(`${r.url}/`, {})).body, { label: 'v1' });
  t.is((await pushBundle(r, behaviour, { label: 'v2' })).status, 200);
  t.like((await post(`${r.url}/`, {})).body, { label: 'v2' });
});

test('top-level code that never finishes is refused the same way', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' }, { initTimeoutMs: 300 });
  t.teardown(() => r.close());
  const hung = await pushBundle(r, join(fixtures, 'predictors/hang-top-level.ts'), {});
  t.is(hung.status, 422);
  t.regex(hung.body.error as string, /^the predictor's top-level code did not finish within 300 ms/);
  t.like((await post(`${r.url}/`, {})).body, { label: 'v1' });
});

test('the dev loop gives up on a replica that never answers a hot swap, saying so', async (t) => {
  const silent = createServer(() => undefined);
  const url = await listen(silent);
  t.teardown(() => silent.closeAllConnections());
  t.teardown(() => silent.close());
  const { code } = await bundleOnce(behaviour);
  await t.throwsAsync(pushFromDevLoop(url, 'token', { code, config: {}, version: 'v' }, 200), {
    message: `the replica at ${url} did not answer the hot swap within 200 ms`,
  });
});

test('a bundle over its 64 MiB limit is a 413 that names that limit', async (t) => {
  const r = await startReplica(behaviour, { label: 'v1' });
  t.teardown(() => r.close());
  const res = await fetch(`${r.url}/-/predictor`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${r.token}` },
    body: Buffer.alloc(64 * 1024 * 1024 + 1, 0x20),
  });
  t.is(res.status, 413);
  t.regex(((await res.json()) as { error: string }).error, /larger than the limit of 67108864 bytes/);
});
