// The gateway with real upstream servers: routing, least outstanding requests, and replicas
// that refuse connections skipped without the client noticing.
import { createServer, type Server } from 'node:http';
import test from 'ava';
import type { ReplicaInfo } from '../src/dev/backend.js';
import { Gateway } from '../src/dev/gateway.js';
import { closedPort, listen, post } from './helpers/http.js';

function upstream(name: string, delayMs = 0): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, path: req.url, body })), delayMs));
  });
  return listen(server).then((url) => ({ server, url }));
}

const replica = (id: string, url: string, status: ReplicaInfo['status'] = 'ready'): ReplicaInfo => ({ id, api: 'a', status, url, version: 'v', startedAt: new Date(), restarts: 0, error: undefined });

async function gatewayFor(replicas: ReplicaInfo[]) {
  const gateway = new Gateway({ routes: () => [{ api: 'a', endpoint: '/d/a' }], replicas: () => replicas });
  const url = await gateway.listen(0);
  return { gateway, url };
}

test('routes /<deployment>/<api> to a replica with its query and body; nothing under it', async (t) => {
  const up = await upstream('one');
  const { gateway, url } = await gatewayFor([replica('a-1', up.url)]);
  t.teardown(async () => {
    await gateway.close();
    up.server.close();
  });
  const res = await post(`${url}/d/a`, { x: 1 });
  t.deepEqual(res.body, { name: 'one', path: '/', body: '{"x":1}' });
  t.like((await post(`${url}/d/a?x=1`, {})).body, { path: '/?x=1' });
  t.like((await post(`${url}/d/a/`, {})).body, { path: '/' });
  // The replica's own paths (metrics, health, the admin swap) are not part of the api.
  for (const path of ['/d/a/metrics', '/d/a/-/predictor', '/d/b']) {
    const missing = await post(`${url}${path}`, {});
    t.is(missing.status, 404, path);
    t.regex((missing.body as { error: string }).error, /^no api at \/d\/.+; the endpoints are: \/d\/a$/);
  }
});

test('with every api deleted, a 404 says so instead of listing nothing', async (t) => {
  const gateway = new Gateway({ routes: () => [], replicas: () => [] });
  const url = await gateway.listen(0);
  t.teardown(() => gateway.close());
  const res = await post(`${url}/d/a`, {});
  t.is(res.status, 404);
  t.regex((res.body as { error: string }).error, /no api is served now/);
});

test('a replica that refuses the connection is skipped, not reported', async (t) => {
  const up = await upstream('alive');
  const dead = `http://127.0.0.1:${await closedPort()}`;
  const { gateway, url } = await gatewayFor([replica('a-1', dead), replica('a-2', up.url)]);
  t.teardown(async () => {
    await gateway.close();
    up.server.close();
  });
  for (let i = 0; i < 6; i++) t.like((await post(`${url}/d/a`, {})).body, { name: 'alive' });
});

test('no serving replica is a 503 JSON with Retry-After', async (t) => {
  const { gateway, url } = await gatewayFor([replica('a-1', 'http://127.0.0.1:1', 'starting')]);
  t.teardown(() => gateway.close());
  const res = await post(`${url}/d/a`, {});
  t.is(res.status, 503);
  t.is(res.headers.get('retry-after'), '1');
  t.regex((res.body as { error: string }).error, /no ready replica of a/);
});

test('least outstanding requests: a slow replica gets fewer of concurrent requests', async (t) => {
  const slow = await upstream('slow', 300);
  const fast = await upstream('fast', 0);
  const { gateway, url } = await gatewayFor([replica('a-1', slow.url), replica('a-2', fast.url)]);
  t.teardown(async () => {
    await gateway.close();
    slow.server.close();
    fast.server.close();
  });
  const names: string[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 5; i++) names.push(((await post(`${url}/d/a`, {})).body as { name: string }).name);
    }),
  );
  const slowCount = names.filter((n) => n === 'slow').length;
  t.true(slowCount < names.length / 2, `slow got ${slowCount} of ${names.length}`);
});

test('a path can never send the request to another host, and a malformed one is a 400, not a crash', async (t) => {
  const up = await upstream('one');
  const { gateway, url } = await gatewayFor([replica('a-1', up.url)]);
  t.teardown(async () => {
    await gateway.close();
    up.server.close();
  });
  t.is((await post(`${url}/d/a//evil.example/x`, {})).status, 404);
  // The query is the only part of the client's URL that reaches a replica, and only its own.
  t.like((await post(`${url}/d/a?//evil.example/x`, {})).body, { name: 'one', path: '/?//evil.example/x' });
  const odd = await post(`${url}/d/a?[`, {});
  t.true(odd.status === 200 || odd.status === 400, `status ${odd.status}`);
  t.like((await post(`${url}/d/a`, {})).body, { name: 'one' });
});

test('a client that goes away mid-request does not count against the replica', async (t) => {
  const slow = await upstream('slow', 300);
  const { gateway, url } = await gatewayFor([replica('a-1', slow.url)]);
  t.teardown(async () => {
    await gateway.close();
    slow.server.close();
  });
  await Promise.all(
    [1, 2, 3].map(async () => {
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 100);
      await fetch(`${url}/d/a`, { method: 'POST', body: '{}', signal: abort.signal }).catch(() => undefined);
    }),
  );
  // Released once the gateway has seen each client go (and the upstream answer, at 300 ms):
  // waited for, since on a loaded machine that takes longer than any fixed pause. A count
  // that leaks stays above 0 and fails at the bound.
  for (const deadline = Date.now() + 30_000; gateway.outstandingTo('a-1') > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  t.is(gateway.outstandingTo('a-1'), 0);
});

test('a draining replica\'s 503 is retried on another replica; an overloaded one\'s 503 is passed on', async (t) => {
  const draining = createServer((_req, res) => res.writeHead(503, { connection: 'close' }).end('{"error":"closing"}'));
  const overloaded = createServer((_req, res) => res.writeHead(503, { 'retry-after': '1' }).end('{"error":"busy"}'));
  const fine = await upstream('fine');
  const [drainingUrl, overloadedUrl] = [await listen(draining), await listen(overloaded)];
  const a = await gatewayFor([replica('a-1', drainingUrl), replica('a-2', fine.url)]);
  const b = await gatewayFor([replica('a-1', overloadedUrl)]);
  t.teardown(async () => {
    await a.gateway.close();
    await b.gateway.close();
    draining.close();
    overloaded.close();
    fine.server.close();
  });
  for (let i = 0; i < 4; i++) t.like((await post(`${a.url}/d/a`, {})).body, { name: 'fine' });
  const busy = await post(`${b.url}/d/a`, {});
  t.is(busy.status, 503);
  t.is(busy.headers.get('retry-after'), '1');
});
