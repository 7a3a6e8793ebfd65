// The gateway with real upstream servers: routing, least outstanding requests, and replicas
// that refuse connections skipped without the client noticing.
import { createServer, type Server } from 'node:http';
import test from 'ava';
import type { ReplicaInfo } from '../src/model/backend.js';
import { Agent, request as httpRequest } from 'node:http';
import { Gateway, gatewayLimitsFrom, type GatewayLimits } from '../src/gateway/gateway.js';
import { closedPort, listen, post } from './helpers/http.js';
import { sendRaw, stalledRequests } from './helpers/raw.js';

function upstream(name: string, delayMs = 0): Promise<{ server: Server; url: string; seen: () => number }> {
  let seen = 0;
  const server = createServer((req, res) => {
    seen++;
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name, path: req.url, body })), delayMs));
  });
  return listen(server).then((url) => ({ server, url, seen: () => seen }));
}

const replica = (id: string, url: string, status: ReplicaInfo['status'] = 'ready'): ReplicaInfo => ({ id, api: 'a', status, url, version: 'v', startedAt: new Date(), restarts: 0, error: undefined });

async function gatewayFor(replicas: ReplicaInfo[], limits: Partial<GatewayLimits> = {}) {
  const gateway = new Gateway({ routes: () => [{ api: 'a', endpoint: '/d/a' }], replicas: () => replicas }, { ...gatewayLimitsFrom({}), ...limits });
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

test('an answer cut short by its replica is cut short for the client, and counts no more', async (t) => {
  // Declares 1000 bytes, sends 10, then resets the connection.
  const broken = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000' });
    res.write('0123456789', () => setTimeout(() => res.socket?.resetAndDestroy(), 20));
  });
  const { gateway, url } = await gatewayFor([replica('a-1', await listen(broken))]);
  t.teardown(async () => {
    await gateway.close();
    broken.close();
  });
  const answer = await fetch(`${url}/d/a`, { method: 'POST', body: '{}' });
  t.is(answer.status, 200);
  await t.throwsAsync(answer.arrayBuffer(), undefined, 'the client sees the answer end early, not a complete one');
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

test('requests that never finish arriving never reach a replica and are answered 408; others go through', async (t) => {
  const timeoutMs = 1500;
  const up = await upstream('one');
  const { gateway, url } = await gatewayFor([replica('a-1', up.url)], { bodyTimeoutMs: timeoutMs });
  t.teardown(async () => {
    await gateway.close();
    up.server.close();
  });
  // More than the gateway's 256 connections to a replica, had it forwarded them.
  const hangers = Object.entries(stalledRequests('/d/a')).flatMap(([kind, request]) => Array.from({ length: 70 }, () => ({ kind, ...sendRaw(url, request, timeoutMs + 8000) })));
  await Promise.all(hangers.map((h) => h.written));
  t.like((await post(`${url}/d/a`, { x: 1 })).body, { name: 'one', body: '{"x":1}' });
  for (const { kind, reply } of hangers) {
    const { status, headers, body, ms } = await reply;
    t.is(status, 408, kind);
    t.regex(headers, /\r\nconnection: close$/im, kind);
    t.regex((body as { error: string }).error, /did not arrive within 1500 ms \(CORTEX_BODY_TIMEOUT_MS\)/, kind);
    t.true(ms >= timeoutMs - 20 && ms < timeoutMs + 5000, `${kind}: answered after ${Math.round(ms)} ms`);
  }
  t.is(up.seen(), 1);
});

test('a body over the limit is a 413 the client reads, with or without Content-Length, however much it sends', async (t) => {
  const up = await upstream('one');
  const { gateway, url } = await gatewayFor([replica('a-1', up.url)], { bodyLimit: 1024 * 1024 });
  t.teardown(async () => {
    await gateway.close();
    up.server.close();
  });
  // 100 MiB is past what the gateway reads and drops after refusing: it closes while the client sends.
  for (const mib of [2, 100]) {
    const bytes = Buffer.alloc(mib * 1024 * 1024, 0x20);
    const chunked = () => new ReadableStream({ start: (c) => { for (let at = 0; at < bytes.length; at += 1 << 20) c.enqueue(bytes.subarray(at, at + (1 << 20))); c.close(); } });
    for (const [how, body] of [['sized', bytes], ['chunked', chunked()]] as const) {
      const res = await fetch(`${url}/d/a`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' }, duplex: 'half' } as RequestInit);
      t.is(res.status, 413, `${mib} MiB ${how}`);
      t.deepEqual(await res.json(), { error: 'request body is larger than the limit of 1048576 bytes (CORTEX_BODY_LIMIT)' });
    }
  }
  t.is(up.seen(), 0);
  t.like((await post(`${url}/d/a`, { x: 1 })).body, { name: 'one' });
});

test('the bytes held for all requests at once are bounded: past it a body is a 503 with Retry-After', async (t) => {
  const up = await upstream('one');
  const { gateway, url } = await gatewayFor([replica('a-1', up.url)], { bodyTimeoutMs: 1500, bodyLimit: 64 * 1024, bufferedLimit: 100 * 1024 });
  t.teardown(async () => {
    await gateway.close();
    up.server.close();
  });
  const part = (n: number) => ({ head: `POST /d/a HTTP/1.1\r\nHost: x\r\nContent-Length: ${64 * 1024}\r\n\r\n${'x'.repeat(n)}` });
  const first = sendRaw(url, part(60 * 1024), 5000);
  await first.written;
  await new Promise((r) => setTimeout(r, 100));
  const second = sendRaw(url, part(60 * 1024), 5000);
  const { status, headers, body } = await second.reply;
  t.is(status, 503);
  t.regex(headers, /^retry-after: 1\r?$/im);
  t.regex((body as { error: string }).error, /the gateway is holding 102400 bytes of request bodies, its limit; retry shortly/);
  t.is((await first.reply).status, 408);
  // The first body's bytes are given back with its answer.
  t.like((await post(`${url}/d/a`, 'y'.repeat(60 * 1024), 'text/plain')).body, { name: 'one' });
});

test('stopping answers a request sent on an idle keep-alive connection, with Connection: close, instead of resetting it', async (t) => {
  const up = await upstream('one');
  const { gateway, url } = await gatewayFor([replica('a-1', up.url)]);
  t.teardown(async () => {
    await gateway.close();
    up.server.close();
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  const send = () =>
    new Promise<string>((resolve) => {
      const req = httpRequest(`${url}/d/a`, { method: 'POST', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(`${res.statusCode} ${res.headers.connection}`));
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end('{}');
    });
  t.deepEqual(await Promise.all(Array.from({ length: 8 }, send)), Array(8).fill('200 keep-alive'));
  // Eight idle connections in the pool; the client reuses them in the instant the gateway stops.
  const stopped = gateway.stopAccepting();
  t.deepEqual(await Promise.all(Array.from({ length: 8 }, send)), Array(8).fill('200 close'));
  await stopped;
  t.is((await send()).split(' ')[0], 'ECONNREFUSED');
});
