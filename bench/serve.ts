// npm run bench: the example classifier served over HTTP (`cortex serve`, and `cortex dev` through
// its gateway, driven by autocannon) against the same predictor called in this process, at
// concurrency 1, 4 and 16, by bytes and by URL, each with server-side batching off and on, all
// interleaved in one run so that every cell sees the same machine. The figures that matter are
// ratios within the run: served / in-process (what HTTP, admission and the runtime cost on top of
// inference), dev / served (what the gateway costs), batching on / off, and, with
// BENCH_BASELINE=<a built checkout of main>, this tree / that one. The machine's load
// average is printed beside every row: on a shared machine a figure without it means little.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import type { Tensor } from '../runtime/contract.js';
import { imageToTensor } from '../runtime/helpers/image.js';
import { inferencePlan } from '../runtime/inference/plan.js';
import { InferencePool, type BatchSettings } from '../runtime/inference/pool.js';
import { replicaDefaults } from '../runtime/settings.js';
import { PredictorSlot } from '../runtime/predictor-slot.js';
import { bundleOnce } from '../src/dev/bundler.js';
import { loadSpec } from '../src/spec/index.js';
import { startDev } from './dev-session.js';
import { cacheDir, modelFile, photosDir } from '../test/helpers/shared.js';

const root = resolve(new URL('../..', import.meta.url).pathname);
// The photos by URL are on loopback, as cortex serve allows (the in-process predictor reads this too).
process.env.CORTEX_FETCH_ADDRESSES ??= 'any';
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
/** Each cell's seconds are cut into this many slices, the cells of a row taking turns, so a change in the machine's load falls on all of them alike. */
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const levels = (process.env.BENCH_CONCURRENCY ?? '1,4,16').split(',').map(Number);
const inputs = (process.env.BENCH_INPUT ?? 'bytes,url').split(',') as Array<'bytes' | 'url'>;
const port = Number(process.env.BENCH_PORT ?? 18888);
/** A built checkout to compare with (its own bin/cortex.js and example), e.g. main: `git archive main | tar -x -C DIR`, then build there. */
const baseline = process.env.BENCH_BASELINE ? resolve(process.env.BENCH_BASELINE) : undefined;
const batching: BatchSettings = { maxBatchSize: Number(process.env.BENCH_BATCH_SIZE ?? 8), intervalMs: Number(process.env.BENCH_BATCH_INTERVAL_MS ?? 2) };
const photos = ['hotdog.jpg', 'finch.jpg', 'eagle.jpg', 'dog.jpg'];
// Serving over HTTP should cost at most a tenth of in-process throughput under load, and the dev
// gateway at most a tenth of what cortex serve answers.
const goal = { concurrency: 16, ratio: 0.9 };

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** Answers, and the CPU seconds the serving process spent on them (all its threads), where it can be read. */
  answered?: number;
  cpu?: number;
}

/**
 * CPU seconds a process has used so far, every thread, from Linux's /proc (in clock ticks of
 * 1/100 s); undefined elsewhere. Per answer, it tells work saved from cores lost: a slice that
 * loses the cores to a neighbour answers less, but each answer costs about the same (across runs
 * it moves with the machine as much as req/s does). It reads a little high: the requests still in
 * flight when a slice ends have cost CPU but are not answers.
 */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const load = () => loadavg()[0]!.toFixed(1);

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

type Request = { method: 'POST'; path: string; headers: Record<string, string>; body: Buffer | string };

async function served(url: string, requests: Request[], concurrency: number, duration = seconds, pid?: number): Promise<Figures> {
  const before = cpuSeconds(pid);
  const result = await autocannon({ url, connections: concurrency, duration, requests });
  const after = cpuSeconds(pid);
  // Only answers count as served: a fast 503 or 504 is not throughput.
  const cpu = before !== undefined && after !== undefined ? after - before : undefined;
  return { rps: result['2xx'] / duration, p50: result.latency.p50, p99: result.latency.p99, errors: result.non2xx + result.errors, answered: result['2xx'], cpu };
}

async function startServe(cli: string, dir: string, at: number): Promise<{ stop: () => void; pid?: number }> {
  const child = spawn(process.execPath, [cli, 'serve', dir, '--port', String(at)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((ready, fail) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('http://') && ready());
    child.once('exit', (code) => fail(new Error(`cortex serve (${cli}) exited with ${code}`)));
  });
  return { stop: () => child.kill('SIGTERM'), pid: child.pid };
}

const exampleDir = join(root, 'examples/image-classifier');
const spec = await loadSpec(exampleDir);
const api = spec.apis[0]!;
const bodies = await Promise.all(photos.map((p) => readFile(join(photosDir, p))));

// The photos by URL come from this process, out of memory: the cheapest server there is.
const photoServer = createServer((req, res) => {
  const i = photos.indexOf((req.url ?? '').slice(1));
  if (i < 0) res.writeHead(404).end();
  else res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': bodies[i]!.length }).end(bodies[i]);
});
await new Promise<void>((r) => photoServer.listen(0, '127.0.0.1', r));
const photoUrl = (i: number) => `http://127.0.0.1:${(photoServer.address() as { port: number }).port}/${photos[i % photos.length]}`;

// The same example with batching on: its folder copied, with the section added to cortex.yaml.
const batchedDir = await mkdtemp(join(tmpdir(), 'cortex-bench-batched-'));
await cp(exampleDir, batchedDir, { recursive: true });
const yaml = await readFile(join(exampleDir, 'cortex.yaml'), 'utf8');
await writeFile(join(batchedDir, 'cortex.yaml'), yaml.replace(/^(    path: predictor\.ts\n)/m, `$1    server_side_batching: { max_batch_size: ${batching.maxBatchSize}, batch_interval: ${batching.intervalMs}ms }\n`));
if ((await loadSpec(batchedDir)).apis[0]!.predictor.serverSideBatching === undefined) throw new Error('bench: could not add server_side_batching to the copied cortex.yaml');
// cortex dev on a copy held at one replica, so that its column is cortex serve plus the gateway (the
// autoscaler would otherwise add replicas under load, on cores the client needs). That replica
// gets the machine's cores, as cortex serve's does: a dev replica's inference threads follow
// compute.cpu (the example's 1 would give it half of serve's on 2 cores, and the column would
// measure that instead of the gateway).
const devDir = await mkdtemp(join(tmpdir(), 'cortex-bench-dev-'));
await cp(exampleDir, devDir, { recursive: true });
await writeFile(join(devDir, 'cortex.yaml'), yaml.replace(/max_replicas: \d+/, 'max_replicas: 1').replace(/^(    cpu: )\S+$/m, `$1${replicaDefaults.inferenceThreads}`));
const devApi = (await loadSpec(devDir)).apis[0]!;
if (devApi.autoscaling.maxReplicas !== 1 || devApi.compute.cpu !== replicaDefaults.inferenceThreads) throw new Error('bench: could not hold the copied cortex.yaml at one replica of the machine\'s cores');

const plan = inferencePlan(['cpu'], replicaDefaults.inferenceThreads);
const assets = { baseDir: spec.dir, cacheDir, mirrorDir: process.env.CORTEX_MODEL_MIRROR, downloadTimeoutMs: 60_000 };
const metadata = { requestId: 'bench', contentType: 'image/jpeg', headers: {}, query: {} };
const code = (await bundleOnce(api.predictor.path)).code;

/** The replica's own path without HTTP: the predictor on its thread, models in the pool. */
async function local(withBatching: boolean) {
  const pool = new InferencePool(plan.threads, plan.session, withBatching ? batching : undefined);
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
  const { host } = await slot.load({ code, config: api.predictor.config });
  return {
    pool,
    // Each call gets its own copy: the host moves a body's bytes to the predictor's thread.
    bytes: (i: number) => host.predict(Buffer.from(bodies[i % bodies.length]!), metadata),
    url: (i: number) => host.predict({ url: photoUrl(i) }, { ...metadata, contentType: 'application/json' }),
    close: async () => {
      await slot.close();
      await pool.close();
    },
  };
}

const off = await local(false);
const on = await local(true);
const cli = join(root, 'bin/cortex.js');
const servers: Array<{ name: string; url: string; stop: () => void; pid?: number }> = [
  { name: 'served', url: `http://127.0.0.1:${port}`, ...(await startServe(cli, exampleDir, port)) },
  { name: 'served+batch', url: `http://127.0.0.1:${port + 1}`, ...(await startServe(cli, batchedDir, port + 1)) },
];
const dev = await startDev(cli, devDir, { port: port + 3, backend: 'process' });
servers.push({ name: 'dev', url: new URL(dev.endpoint).origin, stop: () => void dev.stop() });
if (baseline) servers.push({ name: 'baseline', url: `http://127.0.0.1:${port + 2}`, ...(await startServe(join(baseline, 'bin/cortex.js'), join(baseline, 'examples/image-classifier'), port + 2)) });

const requestsFor = (input: 'bytes' | 'url'): Request[] =>
  input === 'bytes'
    ? bodies.map((body) => ({ method: 'POST', path: '/image/classifier', headers: { 'content-type': 'image/jpeg' }, body }))
    : photos.map((_, i) => ({ method: 'POST', path: '/image/classifier', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: photoUrl(i) }) }));

/** Where a request's time goes, in process at concurrency 1: bytes → tensor (sharp and the normalisation), then the model alone. */
async function split(): Promise<string> {
  const model = await off.pool.load(modelFile);
  const n = Math.max(20, Math.round(seconds * 10));
  let t = performance.now();
  const tensors: Tensor[] = [];
  for (let i = 0; i < n; i++) tensors.push(await imageToTensor(bodies[i % bodies.length]!));
  const decode = (performance.now() - t) / n;
  t = performance.now();
  for (const input of tensors) await model.run({ input });
  const infer = (performance.now() - t) / n;
  return `decode/infer split (in process, c=1, ${n} requests, load ${load()}): bytes → tensor ${decode.toFixed(2)} ms, model.run ${infer.toFixed(2)} ms (${((100 * decode) / (decode + infer)).toFixed(0)}% decode)`;
}

try {
  console.log(`cortex bench: ${api.deployment}/${api.name}, ${photos.join(' ')}, ${seconds}s per cell in ${rounds} interleaved slices, ${replicaDefaults.inferenceThreads} inference threads, batching max_batch_size ${batching.maxBatchSize} batch_interval ${batching.intervalMs}ms${baseline ? `, baseline ${baseline}` : ''}`);
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // Warm every path so none pays for first-call costs inside a measurement.
  for (const input of inputs) {
    await inProcess(off[input], 4, 2);
    await inProcess(on[input], 4, 2);
    for (const server of servers) await served(server.url, requestsFor(input), 4, 2);
  }
  console.log(await split());
  const columns = ['c', 'input', 'load', 'in-process', 'in-process+batch', ...servers.map((s) => s.name)];
  const rows: string[][] = [[...columns.slice(0, 3), ...columns.slice(3).map((c) => `${c} req/s p50/p99`), 'served/in-process', 'dev/served', 'batch on/off', ...(baseline ? ['served+batch/baseline'] : []), `CPU ms/answer ${servers.filter((s) => s.pid !== undefined).map((s) => s.name).join(' ')}`, ...(baseline ? ['CPU baseline/served+batch'] : [])]];
  const verdicts: string[] = [];
  for (const c of levels) {
    for (const input of inputs) {
      const before = load();
      const runs: Array<() => Promise<Figures>> = [
        () => inProcess(off[input], c, seconds / rounds),
        () => inProcess(on[input], c, seconds / rounds),
        ...servers.map((server) => () => served(server.url, requestsFor(input), c, seconds / rounds, server.pid)),
      ];
      const slices: Figures[][] = runs.map(() => []);
      for (let r = 0; r < rounds; r++) {
        // Each round in another order, so that no cell always follows the same one.
        const order = runs.map((_, i) => i);
        if (r % 2) order.reverse();
        for (const i of order) slices[i]!.push(await runs[i]!());
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      // Throughput over the whole cell; p50 and p99 as the median of the slices' own.
      const cells: Figures[] = slices.map((fs) => ({
        rps: fs.reduce((n, f) => n + f.rps, 0) / fs.length,
        p50: median(fs.map((f) => f.p50)),
        p99: median(fs.map((f) => f.p99)),
        errors: fs.reduce((n, f) => n + f.errors, 0),
        answered: fs.reduce((n, f) => n + (f.answered ?? 0), 0),
        cpu: fs.some((f) => f.cpu === undefined) ? undefined : fs.reduce((n, f) => n + f.cpu!, 0),
      }));
      const cpuMs = (f: Figures | undefined) => (f?.cpu !== undefined && f.answered ? (1000 * f.cpu) / f.answered : undefined);
      const bad = cells.some((f) => f.errors > 0);
      if (bad) console.log(`  c=${c} ${input}: requests failed (${cells.map((f) => f.errors).join(', ')}); no ratios for this row`);
      const ratio = (a: Figures, b: Figures) => (bad ? 'invalid' : (a.rps / b.rps).toFixed(2));
      const [local0, , served0, served1, devCell, base] = cells as [Figures, Figures, Figures, Figures, Figures, Figures | undefined];
      rows.push([
        String(c), input, `${before}→${load()}`,
        ...cells.map((f) => `${f.rps.toFixed(1)} ${f.p50.toFixed(0)}/${f.p99.toFixed(0)}`),
        ratio(served0, local0), ratio(devCell, served0), ratio(served1, served0), ...(base ? [ratio(served1, base)] : []),
        servers.flatMap((s, i) => (s.pid === undefined ? [] : [cpuMs(cells[2 + i])?.toFixed(1) ?? '?'])).join(' '),
        ...(base ? [bad || !cpuMs(base) || !cpuMs(served1) ? 'invalid' : (cpuMs(base)! / cpuMs(served1)!).toFixed(2)] : []),
      ]);
      if (c === goal.concurrency && !bad) {
        const r = served0.rps / local0.rps;
        verdicts.push(`served ≥ ${goal.ratio} × in-process at c=${c} by ${input}: ${r >= goal.ratio ? 'met' : 'missed'} (${r.toFixed(2)})`);
        const d = devCell.rps / served0.rps;
        verdicts.push(`dev gateway ≥ ${goal.ratio} × served at c=${c} by ${input}: ${d >= goal.ratio ? 'met' : 'missed'} (${d.toFixed(2)}, p99 ${devCell.p99.toFixed(0)} vs ${served0.p99.toFixed(0)} ms)`);
      }
      if (!bad) verdicts.push(`batching on ≥ off, served, c=${c} by ${input}: ${served1.rps >= served0.rps ? 'yes' : 'no'} (${(served1.rps / served0.rps).toFixed(2)}, p99 ${served1.p99.toFixed(0)} vs ${served0.p99.toFixed(0)} ms)`);
      if (base && c === 16 && input === 'url' && !bad) {
        verdicts.push(`this tree (batching on) ≥ 1.6 × baseline, served by URL at c=16: ${served1.rps >= 1.6 * base.rps ? 'met' : 'missed'} (${(served1.rps / base.rps).toFixed(2)}; batching off: ${(served0.rps / base.rps).toFixed(2)}; p99 ${served1.p99.toFixed(0)} vs ${base.p99.toFixed(0)} ms; CPU an answer ${cpuMs(served1)?.toFixed(1) ?? '?'} vs ${cpuMs(base)?.toFixed(1) ?? '?'} ms)`);
      }
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i]!)).join('  '));
  for (const v of verdicts) console.log(`goal: ${v}`);
  console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (on a shared machine, compare ratios within a row, not figures across runs)`);
} finally {
  for (const server of servers) server.stop();
  await off.close();
  await on.close();
  photoServer.close();
  await rm(batchedDir, { recursive: true, force: true });
  await rm(devDir, { recursive: true, force: true });
}
