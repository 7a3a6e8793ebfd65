// npm run bench:reload: save-to-serving time of `cortex dev` on the example. Each of 20 edits
// changes what the predictor answers; the clock runs from the file write until a request
// through the gateway gets the new answer. BENCH_LOAD clients keep posting the photo meanwhile,
// and every one of their requests must be answered. BENCH_BACKEND=kind runs on the cortex kind
// cluster (cortex cluster up), whose gateway is the cluster's port, not BENCH_PORT.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startDev } from './dev-session.js';
import { photoFiles } from '../test/helpers/shared.js';

const root = resolve(new URL('../..', import.meta.url).pathname);
const edits = Number(process.env.BENCH_EDITS ?? 20);
const port = Number(process.env.BENCH_PORT ?? 18889);
const backend = process.env.BENCH_BACKEND ?? 'process';
const loadClients = Number(process.env.BENCH_LOAD ?? 2);

const dir = await mkdtemp(join(tmpdir(), 'cortex-reload-bench-'));
await cp(join(root, 'examples/image-classifier'), dir, { recursive: true });
const predictor = join(dir, 'predictor.ts');
const original = await readFile(predictor, 'utf8');
const photo = await readFile(photoFiles['hotdog.jpg']);

const session = await startDev(join(root, 'bin/cortex.js'), dir, { port, backend });
const { endpoint } = session;

async function answer(): Promise<string> {
  const res = await fetch(endpoint, { method: 'POST', body: photo, headers: { 'content-type': 'image/jpeg' } });
  return res.text();
}

let loading = true;
const load = { ok: 0, failed: [] as string[] };
const clients = Array.from({ length: loadClients }, async () => {
  while (loading) {
    try {
      const res = await fetch(endpoint, { method: 'POST', body: photo, headers: { 'content-type': 'image/jpeg' } });
      const body = await res.text();
      if (res.ok) load.ok++;
      else load.failed.push(`${res.status} ${body}`);
    } catch (err) {
      load.failed.push((err as Error).message);
    }
  }
});

const times: number[] = [];
try {
  for (let i = 1; i <= edits; i++) {
    const expected = JSON.stringify(`v${i}: hot dog`);
    await new Promise((r) => setTimeout(r, 300));
    const saved = performance.now();
    await writeFile(predictor, original.replace('return labels[best!.index];', `return \`v${i}: \${labels[best!.index]}\`;`));
    while ((await answer()) !== expected) {
      if (performance.now() - saved > 30_000) throw new Error(`edit ${i} never served`);
    }
    times.push(performance.now() - saved);
  }
} finally {
  loading = false;
  await Promise.all(clients);
  await session.stop();
}

const sorted = [...times].sort((a, b) => a - b);
const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
console.log(`cortex bench:reload: ${edits} edits of examples/image-classifier/predictor.ts on the ${backend} backend`);
console.log(`save → serving: p50 ${at(0.5).toFixed(0)} ms, p95 ${at(0.95).toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`);
console.log(`meanwhile ${loadClients} clients: ${load.ok} requests answered, ${load.failed.length} failed${load.failed.length ? ` (first: ${load.failed[0]})` : ''}`);
if (load.failed.length) process.exitCode = 1;
