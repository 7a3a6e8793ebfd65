// A real registry for the push tests: Debian's docker-registry (distribution 2.8) on a free
// loopback port, with htpasswd basic auth like ECR's login (the Docker daemon talks plain HTTP to
// 127.0.0.1 without configuration). Registered as skipped, with the reason, where docker-registry,
// htpasswd or the Docker daemon is missing; CORTEX_REGISTRY_TESTS=required makes them run regardless.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { dockerUnavailableReason } from '../../src/image/docker-client.js';
import { freePort } from './moto.js';

async function missing(command: string, args: string[]): Promise<boolean> {
  try {
    await execa(command, args, { timeout: 30_000, reject: false });
    return false;
  } catch {
    return true;
  }
}

async function unavailableReason(): Promise<string | undefined> {
  if (await missing('docker-registry', ['--version'])) return 'docker-registry is not installed (apt-get install docker-registry)';
  if (await missing('htpasswd', ['-h'])) return 'htpasswd is not installed (apt-get install apache2-utils)';
  const docker = await dockerUnavailableReason(undefined, 20_000);
  return docker ? `Docker: ${docker}` : undefined;
}

const unavailable = process.env.CORTEX_REGISTRY_TESTS === 'required' ? undefined : await unavailableReason();
if (unavailable) console.log(`registry push tests skipped: ${unavailable}`);
export const registryAvailable = unavailable === undefined;

type Implementation = (t: ExecutionContext) => Promise<void> | void;

/** A serial test that needs docker-registry and the Docker daemon. */
export const registryTest: (title: string, implementation: Implementation) => void = unavailable
  ? (title, implementation) => test.serial.skip(title, implementation)
  : (title, implementation) => test.serial(title, implementation);

export interface LocalRegistry {
  /** 127.0.0.1:<port> */
  host: string;
  /** base64 "user:password", the shape of ECR's authorization token. */
  token: string;
  stop(): Promise<void>;
}

export async function startRegistry(user = 'AWS', password = `test-${process.pid}`): Promise<LocalRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cortex-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const { stdout } = await execa('htpasswd', ['-Bbn', user, password]);
  await writeFile(path.join(dir, 'htpasswd'), `${stdout.trim()}\n`);
  await writeFile(path.join(dir, 'config.yml'), [
    'version: 0.1',
    'log: { level: warn, accesslog: { disabled: true } }',
    `storage: { filesystem: { rootdirectory: ${JSON.stringify(path.join(dir, 'data'))} }, delete: { enabled: true } }`,
    `http: { addr: "${host}", secret: "${password}" }`,
    `auth: { htpasswd: { realm: cortex-test, path: ${JSON.stringify(path.join(dir, 'htpasswd'))} } }`,
    '',
  ].join('\n'));
  const child = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${stderr}`);
    try {
      // 401 without credentials: it is up, and it asks for the login.
      if ((await fetch(`http://${host}/v2/`)).status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not answer on ${host} within 60 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    host,
    token: Buffer.from(`${user}:${password}`).toString('base64'),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
