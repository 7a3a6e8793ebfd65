// npm run bench: the example classifier served over HTTP (`cortex serve`, driven by
// autocannon) against the same predictor called in this process, at concurrency 1, 4 and 16,
// interleaved in one run so that both see the same machine. The figure that matters is the
// ratio served / in-process: what HTTP, admission and the runtime cost on top of inference.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { inferencePlan } from '../runtime/inference/plan.js';
import { InferencePool } from '../runtime/inference/pool.js';
import { replicaDefaults } from '../runtime/settings.js';
import { PredictorSlot } from '../runtime/predictor-slot.js';
import { bundleOnce } from '../src/dev/bundler.js';
import { loadSpec } from '../src/spec/index.js';

const root = resolve(new URL('../..', import.meta.url).pathname);
const shared = resolve(process.env.CORTEX_SHARED_DIR ?? join(root, '../shared'));
process.env.CORTEX_MODEL_MIRROR ??= join(shared, 'models');
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const levels = (process.env.BENCH_CONCURRENCY ?? '1,4,16').split(',').map(Number);
const port = Number(process.env.BENCH_PORT ?? 18888);
const photos = ['hotdog.jpg', 'finch.jpg', 'eagle.jpg', 'dog.jpg'];
// Serving over HTTP should cost at most a tenth of in-process throughput under load.
const goal = { concurrency: 16, ratio: 0.9 };

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Closed loop: `concurrency` callers, each starting the next call when its last one ends. */
async function inProcess(predict: (i: number) => Promise<unknown>, concurrency: number, duration = seconds): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const end = performance.now() + duration * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        try {
          await predict(next++);
          latencies.push(performance.now() - started);
        } catch {
          errors++;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / duration, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
}

async function served(url: string, bodies: Buffer[], concurrency: number, duration = seconds): Promise<Figures> {
  const result = await autocannon({
    url,
    connections: concurrency,
    duration,
    requests: bodies.map((body) => ({ method: 'POST', path: '/image/classifier', headers: { 'content-type': 'image/jpeg' }, body })),
  });
  // Only answers count as served: a fast 503 or 504 is not throughput.
  return { rps: result['2xx'] / duration, p50: result.latency.p50, p99: result.latency.p99, errors: result.non2xx + result.errors };
}

async function startServe(dir: string): Promise<() => void> {
  const child = spawn(process.execPath, [join(root, 'bin/cortex.js'), 'serve', dir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ready, fail) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('http://') && ready());
    child.once('exit', (code) => fail(new Error(`cortex serve exited with ${code}`)));
  });
  return () => child.kill('SIGTERM');
}

const spec = await loadSpec(join(root, 'examples/image-classifier'));
const api = spec.apis[0]!;
const bodies = await Promise.all(photos.map((p) => readFile(join(shared, 'images', p))));

const plan = inferencePlan(['cpu'], replicaDefaults.inferenceThreads);
const pool = new InferencePool(plan.threads, plan.session);
const assets = { baseDir: spec.dir, cacheDir: join(tmpdir(), 'cortex-bench-cache'), mirrorDir: process.env.CORTEX_MODEL_MIRROR, downloadTimeoutMs: 60_000 };
// The replica's own path without HTTP: the predictor on its thread, models in the pool.
const slot = new PredictorSlot({
  ...replicaDefaults,
  api: { name: api.name, deployment: api.deployment },
  assets,
  pool,
  bundleDir: mkdtemp(join(tmpdir(), 'cortex-bench-')),
  blockedMs: replicaDefaults.blockedThreadMs,
  retireMs: 0,
  onStray: (kind, failure) => console.error(`bench: ${kind} in the predictor: ${failure.message}`),
});
const { host } = await slot.load({ code: (await bundleOnce(api.predictor.path)).code, config: api.predictor.config });
const metadata = { requestId: 'bench', contentType: 'image/jpeg', headers: {}, query: {} };
// Each call gets its own copy: the host moves a body's bytes to the predictor's thread.
const predict = (i: number) => host.predict(Buffer.from(bodies[i % bodies.length]!), metadata);
const stop = await startServe(spec.dir);

try {
  console.log(`cortex bench: ${api.deployment}/${api.name}, ${photos.join(' ')}, ${seconds}s per run, ${replicaDefaults.inferenceThreads} inference threads`);
  // Warm both paths so neither pays for first-call costs inside a measurement.
  await inProcess(predict, 4, 2);
  await served(`http://127.0.0.1:${port}`, bodies, 4, 2);
  const rows: string[][] = [['concurrency', 'in-process req/s', 'p50 ms', 'p99 ms', 'served req/s', 'p50 ms', 'p99 ms', 'served/in-process']];
  const ratios = new Map<number, number | undefined>();
  for (const c of levels) {
    const local = await inProcess(predict, c);
    const remote = await served(`http://127.0.0.1:${port}`, bodies, c);
    // A run with failed requests measured something other than serving: no ratio for it.
    const valid = local.errors === 0 && remote.errors === 0;
    if (!valid) console.log(`  c=${c}: ${local.errors} in-process errors, ${remote.errors} served errors; no ratio for this run`);
    ratios.set(c, valid ? remote.rps / local.rps : undefined);
    rows.push([String(c), local.rps.toFixed(1), local.p50.toFixed(1), local.p99.toFixed(1), remote.rps.toFixed(1), remote.p50.toFixed(1), remote.p99.toFixed(1), valid ? (remote.rps / local.rps).toFixed(2) : 'invalid']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
  if (ratios.has(goal.concurrency)) {
    const ratio = ratios.get(goal.concurrency);
    const verdict = ratio === undefined ? 'not measured (requests failed)' : ratio >= goal.ratio ? `met (${ratio.toFixed(2)})` : `missed (${ratio.toFixed(2)})`;
    console.log(`goal: served ≥ ${goal.ratio} × in-process at concurrency ${goal.concurrency}: ${verdict}`);
  }
} finally {
  stop();
  await slot.close();
  await pool.close();
}
