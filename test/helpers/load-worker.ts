import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

const { url, bodies, type, concurrency, niced } = workerData as { url: string; bodies: Array<Uint8Array | string>; type: string; concurrency: number; niced: boolean };

// The load generator must not starve the process it measures: on Linux this lowers this thread only.
if (niced) setPriority(0, 10);
const started = Date.now();
// When, in a failure's message: a flake is then matched to what the cluster or the session did at that moment.
const at = () => `at +${((Date.now() - started) / 1000).toFixed(1)} s`;
let sent = 0;
let stopping = false;
let ok = 0;
const failed: string[] = [];

const clients = Array.from({ length: concurrency }, async () => {
  while (!stopping) {
    try {
      const res = await fetch(url, { method: 'POST', body: bodies[sent++ % bodies.length], headers: { 'content-type': type } });
      const text = await res.text();
      if (res.status === 200) ok++;
      else failed.push(`${res.status} ${text} ${at()}`);
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      failed.push(`${String(err)}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''} ${at()}`);
    }
  }
});

parentPort!.once('message', async () => {
  stopping = true;
  await Promise.all(clients);
  parentPort!.postMessage({ ok, failed });
  process.exit(0);
});
