// Inference runs in worker threads, so a replica saturated with predictions still answers its
// health checks at once. The replica is its own process and the load comes from another thread,
// so what is measured is the replica, not the test's own event loop.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { JsonValue } from '../runtime/contract.js';
import { loadSpec } from '../src/spec/index.js';
import { startLoad } from './helpers/load.js';
import { post } from './helpers/http.js';
import { startRuntime, waitReady } from './helpers/runtime-process.js';
import { exampleDir, fixtures, photoFiles } from './helpers/shared.js';

async function probeUnderLoad(t: ExecutionContext, predictor: string, config: Record<string, JsonValue>, bodies: Array<Buffer | string>, type: string) {
  const rt = await startRuntime(predictor, config, { CORTEX_INFERENCE_THREADS: '2' });
  t.teardown(() => rt.child.kill('SIGKILL'));
  await waitReady(rt.url);

  const load = startLoad(`${rt.url}/`, bodies, type, 16);
  await new Promise((r) => setTimeout(r, 500));
  const timings: number[] = [];
  for (let i = 0; i < 40; i++) {
    const started = performance.now();
    const res = await fetch(`${rt.url}/healthz`);
    await res.text();
    timings.push(performance.now() - started);
    t.is(res.status, 200);
    await new Promise((r) => setTimeout(r, 25));
  }
  const metrics = await (await fetch(`${rt.url}/metrics`)).text();
  const result = await load.stop();

  t.deepEqual(result.failed, []);
  const inFlight = Number(/cortex_in_flight_requests (\d+)/.exec(metrics)?.[1]);
  t.true(inFlight >= 4, `requests were queueing for the 2 inference threads while probed (${inFlight} in flight)`);
  const worst = Math.max(...timings);
  t.log(`/healthz under load: worst ${worst.toFixed(1)} ms over ${timings.length} probes; ${result.ok} predictions`);
  t.true(worst < 100, `slowest /healthz took ${worst.toFixed(1)} ms`);
  return rt;
}

test.serial('/healthz answers in under 100 ms while the classifier is saturated with photos', async (t) => {
  const api = (await loadSpec(exampleDir)).apis[0]!;
  const photos = await Promise.all((['hotdog.jpg', 'finch.jpg', 'eagle.jpg', 'dog.jpg'] as const).map((f) => readFile(photoFiles[f])));
  await probeUnderLoad(t, api.predictor.path, api.predictor.config, photos, 'image/jpeg');
});

test.serial('/healthz answers in under 100 ms while every inference takes longer than that', async (t) => {
  const api = (await loadSpec(exampleDir)).apis[0]!;
  const config = { model: api.predictor.config.model!, batch: 64 };
  const rt = await probeUnderLoad(t, join(fixtures, 'predictors/heavy.ts'), config, ['{}'], 'application/json');
  // The control: one inference alone blocks for longer than the bound the probes met.
  const { ms } = (await post(`${rt.url}/`, {})).body as { ms: number };
  t.true(ms > 100, `one batch-64 inference took ${ms} ms`);
});
