// `cortex dev --no-tui` on a folder, for the benchmarks: started with its own CORTEX_HOME (the model
// mirror, if any, comes with the environment), and
// ready once it has said where the api answers and a replica serves.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface DevSession {
  /** Where the api answers: the session's gateway (kind: the cluster's). */
  endpoint: string;
  /** SIGINT, as Ctrl-C would; resolves when the session has exited. */
  stop(): Promise<void>;
}

export async function startDev(cli: string, dir: string, options: { port: number; backend: string }): Promise<DevSession> {
  const child = spawn(process.execPath, [cli, 'dev', dir, '--no-tui', '--port', String(options.port), '--backend', options.backend], {
    env: { ...process.env, CORTEX_HOME: await mkdtemp(join(tmpdir(), 'cortex-home-')) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let endpoint = '';
  await new Promise<void>((ready, fail) => {
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      endpoint ||= /endpoint \S+: (\S+)/.exec(text)?.[1] ?? '';
      if (endpoint && text.includes('→ ready')) ready();
    });
    child.once('exit', (code) => fail(new Error(`cortex dev exited with ${code}`)));
  });
  // Nothing reads its output after this, but an unread pipe would fill and block it.
  child.stdout.resume();
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    },
  };
}
