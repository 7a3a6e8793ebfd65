// AWS tests run against moto's server (PyPI moto[server]), started here on a free loopback port.
// Where moto_server is not installed they are registered as skipped and the summary says why;
// CORTEX_MOTO_TESTS=required makes them run regardless (and fail if moto is missing).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';

export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;
/** moto's fixed account id. */
export const MOTO_ACCOUNT = '123456789012';

async function unavailableReason(): Promise<string | undefined> {
  try {
    await execa('moto_server', ['--help'], { timeout: 60_000 });
    return undefined;
  } catch (error) {
    const e = error as { code?: string; shortMessage?: string };
    return e.code === 'ENOENT' ? "moto_server is not installed (pip install 'moto[server]')" : `moto_server --help failed: ${e.shortMessage ?? String(error)}`;
  }
}

const unavailable = process.env.CORTEX_MOTO_TESTS === 'required' ? undefined : await unavailableReason();
if (unavailable) console.log(`moto tests skipped: ${unavailable}`);

type Implementation = (t: ExecutionContext) => Promise<void> | void;

/** A serial test that needs moto's server. */
export const motoTest: (title: string, implementation: Implementation) => void = unavailable
  ? (title, implementation) => test.serial.skip(title, implementation)
  : (title, implementation) => test.serial(title, implementation);
export const motoAvailable = unavailable === undefined;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

/** Starts moto_server on a free port and waits until it answers (seconds on a loaded machine). */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within 90 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
