// A real `cortex dev --no-tui` session in a scratch copy of a project, as a user runs it.
import { cp, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from './http.js';
import { cortex, cortexUntil } from './cli.js';

export interface DevRun {
  dir: string;
  url: string;
  env: Record<string, string>;
  pid: number;
  output(): string;
  /** `cortex get -o json` against this session. */
  get(api?: string): Promise<any>;
  /** Ctrl-C, then the exit code. */
  quit(): Promise<number | undefined>;
}

export async function copyProject(from: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cortex-dev-'));
  await cp(from, dir, { recursive: true });
  return dir;
}

/**
 * `extraArgs` default to the process backend; pass ['--backend', 'docker'] (or []) to choose.
 * Each session gets a CORTEX_HOME of its own, unless `extraEnv` names one to share. Started means
 * a replica became ready (`ready`: a session that adopts pods already ready says so otherwise).
 */
export async function startDev(dir: string, extraArgs: string[] = ['--backend', 'process'], extraEnv: Record<string, string> = {}, ready = / → ready/): Promise<DevRun> {
  const env = { CORTEX_HOME: extraEnv.CORTEX_HOME ?? (await mkdtemp(join(tmpdir(), 'cortex-home-'))), ...extraEnv };
  const port = await closedPort();
  const { child, output } = await cortexUntil(['dev', dir, '--no-tui', '--port', String(port), ...extraArgs], ready, { env, timeout: 300_000 });
  const url = `http://localhost:${port}`;
  return {
    dir,
    url,
    env,
    pid: child.pid!,
    output,
    get: async (api) => {
      const r = await cortex(['get', ...(api ? [api] : []), '-o', 'json'], { env });
      if (r.exitCode !== 0) throw new Error(r.all);
      return JSON.parse(r.stdout);
    },
    quit: async () => {
      child.kill('SIGINT');
      return (await child).exitCode;
    },
  };
}

/** Live processes whose environment has all of `vars` (Linux /proc). */
export async function processesWith(vars: Record<string, string>): Promise<number[]> {
  const found: number[] = [];
  const wanted = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      if (wanted.every((w) => environ.includes(w))) found.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** Processes started by the dev session with this pid that are still alive. */
export function leftovers(sessionPid: number): Promise<number[]> {
  return processesWith({ CORTEX_SESSION: String(sessionPid) });
}

/**
 * Polls `probe` until it gives a value. The timeout is there to end a wait for what will never
 * come, not to say how fast it must come: a reload or a restart that takes seconds on an idle
 * machine takes tens of seconds on a loaded one.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
