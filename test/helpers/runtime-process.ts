// The standalone runtime (dist/runtime/main.js) as a real child process.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonValue } from '../../runtime/contract.js';
import { bundleOnce } from '../../src/dev/bundler.js';
import { repoRoot } from './shared.js';

export interface RuntimeProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  logs(): string;
}

export async function startRuntime(predictor: string, config: Record<string, JsonValue>, env: Record<string, string> = {}, execArgv: string[] = []): Promise<RuntimeProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-runtime-'));
  const bundlePath = join(dir, 'bundle.mjs');
  await writeFile(bundlePath, (await bundleOnce(predictor)).code);
  const child = fork(join(repoRoot, 'dist/runtime/main.js'), [], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', CORTEX_PREDICTOR_BUNDLE: bundlePath, CORTEX_PREDICTOR_CONFIG: JSON.stringify(config), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv: [...process.execArgv, ...execArgv],
  });
  let logs = '';
  child.stdout!.on('data', (d) => (logs += d));
  child.stderr!.on('data', (d) => (logs += d));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`runtime exited with ${code}: ${logs}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url: `http://127.0.0.1:${port}`, exited, logs: () => logs };
}

export async function waitReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await fetch(`${url}/readyz`)).status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms`);
}
