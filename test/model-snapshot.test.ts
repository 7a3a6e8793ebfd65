// The status model's pure parts: the snapshot builder and Tilt's split, and the client's
// endpoints (a replica by URL, by pod IP, or through the API server's pod proxy with its token).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { endpointAt, fetchMetrics, podIpEndpoint, podProxyEndpoint, readiness } from '../runtime/client.js';
import { controlEndpoint, refusedEverywhere, type ReplicaInfo } from '../src/model/backend.js';
import { apiSnapshot } from '../src/model/snapshot.js';
import { runtimeOf } from '../src/model/status.js';
import { parseSpec } from '../src/spec/index.js';

const spec = parseSpec('- kind: deployment\n  name: d\n- kind: api\n  name: a\n  predictor:\n    path: p.ts\n  autoscaling: { min_replicas: 1, init_replicas: 2 }\n', '/project/cortex.yaml').apis[0]!;
const replica = (id: string, status: ReplicaInfo['status'], version = 'v2'): ReplicaInfo => ({ id, api: 'a', status, url: `http://127.0.0.1:1/${id}`, version, startedAt: new Date(0), restarts: 0, error: undefined });
const traffic = { reqPerSec: [], p50Ms: [], p99Ms: [], now: { reqPerSec: 0, p50Ms: null, p99Ms: null, avgMs: null }, windows: { rateSeconds: 5, latencySeconds: 60 }, counts: { '2xx': 0, '4xx': 0, '5xx': 0 } };
const figures = () => ({ inFlight: 0, requests: 0, p50Ms: null });

for (const [status, runtime] of [
  ['starting', 'pending'],
  ['ready', 'ok'],
  ['reloading', 'ok'],
  ['error', 'error'],
  ['stopping', 'ok'],
] as const) {
  test(`a ${status} replica's runtime is ${runtime}`, (t) => t.is(runtimeOf(status), runtime));
}

test('an api snapshot: the status word from its replicas, runtime beside it, update as the session says', (t) => {
  const snap = apiSnapshot(
    { spec, version: 'v2', lastReload: null, update: 'in_progress', updatedAt: new Date(0), autoscaler: null, replicas: [replica('a-1', 'ready'), replica('a-2', 'ready', 'v1')], requested: 2, traffic },
    'http://localhost:8888',
    figures,
  );
  t.like(snap, { status: 'live', runtime: 'ok', update: 'in_progress', requested: 2, available: 2, upToDate: 1, endpoint: 'http://localhost:8888/d/a' });
  t.like(snap.replicas[0], { id: 'a-1', status: 'ready', runtime: 'ok', ready: true, url: 'http://127.0.0.1:1/a-1' });
  const starting = apiSnapshot({ spec, version: 'v2', lastReload: null, update: 'none', updatedAt: new Date(0), autoscaler: null, replicas: [replica('a-1', 'starting')], requested: 1, traffic }, '', figures);
  t.like(starting, { status: 'starting', runtime: 'pending', update: 'none' });
  t.like(starting.replicas[0], { runtime: 'pending', ready: false });
});

test('the rollback rule: refused everywhere, not by some, and not when there was no one to ask', (t) => {
  t.true(refusedEverywhere({ version: 'v', ok: [], failed: [{ replica: 'a-1', error: 'x' }] }));
  t.false(refusedEverywhere({ version: 'v', ok: ['a-2'], failed: [{ replica: 'a-1', error: 'x' }] }));
  t.false(refusedEverywhere({ version: 'v', ok: [], failed: [] }));
});

test('endpoints: a URL, a pod IP, and the pod proxy with its base path and credentials on every call', async (t) => {
  const seen: Array<{ url: string; auth: string | undefined }> = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url!, auth: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url!.endsWith('/readyz') ? JSON.stringify({ ready: true, version: 'v9', loaded_at: '' }) : '[]');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const server_ = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  t.deepEqual(endpointAt(`${server_}/`), { url: server_ });
  t.deepEqual(podIpEndpoint('10.244.0.7', 8080), { url: 'http://10.244.0.7:8080' });
  t.deepEqual(podIpEndpoint('fd00::7', 8080), { url: 'http://[fd00::7]:8080' });

  const proxy = podProxyEndpoint({ server: `${server_}/`, namespace: 'cortex', pod: 'image-classifier-abc', port: 8080, headers: { authorization: 'Bearer sa-token' } });
  t.is(proxy.url, `${server_}/api/v1/namespaces/cortex/pods/image-classifier-abc:8080/proxy`);
  t.deepEqual(await readiness(proxy), { ready: true, version: 'v9' });
  t.deepEqual(await fetchMetrics(proxy), []);
  t.deepEqual(seen, [
    { url: '/api/v1/namespaces/cortex/pods/image-classifier-abc:8080/proxy/readyz', auth: 'Bearer sa-token' },
    { url: '/api/v1/namespaces/cortex/pods/image-classifier-abc:8080/proxy/metrics', auth: 'Bearer sa-token' },
  ]);
  // A replica that reports no endpoint of its own is reached at its URL.
  t.deepEqual(controlEndpoint({ url: server_, endpoint: undefined }), { url: server_ });
  t.deepEqual(controlEndpoint({ url: server_, endpoint: proxy }), proxy);
  t.is(controlEndpoint({ url: undefined }), undefined);
});
