// The collector against real /metrics endpoints served from the runtime's own ReplicaMetrics.
import test from 'ava';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReplicaMetrics } from '../runtime/metrics.js';
import type { PredictorSlot } from '../runtime/predictor-slot.js';
import type { ReplicaInfo } from '../src/model/backend.js';
import { Collector } from '../src/scaling/collector.js';

/** A replica process as far as its metrics go: a fresh registry, served as the runtime serves it. */
async function metricsServer(): Promise<{ metrics: ReplicaMetrics; url: string; server: Server }> {
  const metrics = new ReplicaMetrics(new EventEmitter() as unknown as PredictorSlot, false);
  const server = createServer((_req, res) => {
    void metrics.registry.getMetricsAsJSON().then((json) => res.setHeader('content-type', 'application/json').end(JSON.stringify(json)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { metrics, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const replica = (url: string | undefined, status: ReplicaInfo['status']): ReplicaInfo => ({
  id: 'classifier-1',
  api: 'classifier',
  status,
  url,
  version: 'v1',
  startedAt: new Date(),
  restarts: 0,
  error: undefined,
});

test('a replica that crashed shows no figures until its restart serves, which counts from zero', async (t) => {
  const collector = new Collector(() => 60_000);
  const first = await metricsServer();
  t.teardown(() => first.server.close());
  for (let i = 0; i < 5; i++) first.metrics.observe(200, 0.02);
  first.metrics.inFlight.set(3);
  await collector.tick(new Map([['classifier', [replica(first.url, 'ready')]]]), 1_000);
  t.like(collector.figures('classifier-1'), { inFlight: 3, requests: 5 });
  t.not(collector.figures('classifier-1').p50Ms, null);

  // The process died with three predictions in flight: nothing of it is still working.
  first.server.close();
  await collector.tick(new Map([['classifier', [replica(undefined, 'error')]]]), 2_000);
  t.deepEqual(collector.figures('classifier-1'), { inFlight: 0, requests: 0, p50Ms: null });

  const second = await metricsServer();
  t.teardown(() => second.server.close());
  for (let i = 0; i < 2; i++) second.metrics.observe(200, 0.02);
  await collector.tick(new Map([['classifier', [replica(second.url, 'ready')]]]), 3_000);
  t.like(collector.figures('classifier-1'), { inFlight: 0, requests: 2 });
  t.deepEqual(collector.traffic('classifier').counts, { '2xx': 7, '4xx': 0, '5xx': 0 });
});
