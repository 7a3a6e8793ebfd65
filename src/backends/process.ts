// Replicas as child processes running the runtime on loopback ports: nothing to install.
import { fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hostEnv, runtimeEnv } from './runtime-env.js';
import type { LaunchedReplica, LaunchRequest, ReplicaLauncher } from './launcher.js';

const runtimeMain = fileURLToPath(new URL('../../runtime/main.js', import.meta.url));

export class ProcessLauncher implements ReplicaLauncher {
  readonly name = 'process' as const;
  readonly description = 'process backend: replicas are child processes on loopback ports';

  async launch({ spec, api, replicaId, adminToken, onLine }: LaunchRequest): Promise<LaunchedReplica> {
    const env = runtimeEnv(spec, api, { host: '127.0.0.1', port: 0, adminToken });
    const child = fork(runtimeMain, [], {
      env: { ...hostEnv(), ...env, CORTEX_REPLICA: replicaId, CORTEX_SESSION: String(process.pid) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    createInterface({ input: child.stdout! }).on('line', (l) => onLine(l, 'stdout'));
    createInterface({ input: child.stderr! }).on('line', (l) => onLine(l, 'stderr'));
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      // A process that could not be spawned at all (EAGAIN, ENOMEM) never exits: it failed.
      child.once('error', (err) => {
        onLine(`could not start the runtime: ${err.message}`, 'stderr');
        resolve({ code: null, signal: null });
      });
    });

    const port = await new Promise<number | undefined>((resolve) => {
      child.once('message', (m: { type?: string; port?: number }) => resolve(m.type === 'listening' ? m.port : undefined));
      void exited.then(() => resolve(undefined));
    });
    if (port === undefined) {
      const { code } = await exited;
      throw new Error(`the runtime exited with code ${code} before listening`);
    }

    return {
      url: `http://127.0.0.1:${port}`,
      exited,
      async stop(graceMs) {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill(graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
  }

  async close(): Promise<void> {}
}
