// A launcher whose replicas are small HTTP servers in this process that speak the runtime's
// wire protocol (runtime/protocol.ts): the supervisor (LocalBackend) can be tested — readiness,
// reloads accepted and refused, restarts, scaling — without starting a process or a container.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bundleVersion } from '../../runtime/predictor-slot.js';
import { adminTokenHeader, paths, type MetricFamily, type NotReady, type PredictorPut, type Ready, type ReloadAccepted, type ReloadRefused } from '../../runtime/protocol.js';
import type { LaunchedReplica, LaunchRequest, ReplicaLauncher } from '../../src/backends/launcher.js';

/** A bundle whose code contains this is refused (422), like an init that throws. */
export const refusedMarker = 'refuse-this-bundle';

export interface FakeReplica {
  id: string;
  version: string | undefined;
  /** Ends the replica as a crash would (exit code 1). */
  crash(): void;
}

export class FakeLauncher implements ReplicaLauncher {
  readonly name = 'process' as const;
  readonly description = 'fake launcher: replicas are HTTP servers in the test process';
  readonly running = new Map<string, FakeReplica>();
  launches = 0;
  /** The next this many launches fail before listening. */
  failNext = 0;

  async launch({ replicaId, adminToken, onLine }: LaunchRequest): Promise<LaunchedReplica> {
    this.launches++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('the fake runtime exited with code 1 before listening');
    }
    let version: string | undefined;
    let loadedAt = new Date();
    let end!: (exit: { code: number | null; signal: string | null }) => void;
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => (end = resolve));
    const server: Server = createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'GET' && req.url === paths.live) return send(200, { ok: true });
      if (req.method === 'GET' && req.url === paths.ready) {
        return version ? send(200, { ready: true, version, loaded_at: loadedAt.toISOString(), models: [] } satisfies Ready) : send(503, { ready: false, error: 'the predictor is still loading' } satisfies NotReady);
      }
      if (req.method === 'GET' && req.url === paths.metrics) return send(200, [] satisfies MetricFamily[]);
      if (req.method === 'PUT' && req.url === paths.predictor) {
        if (req.headers[adminTokenHeader] !== adminToken) return send(401, { error: 'bad token' });
        return void readJson<PredictorPut>(req).then((put) => {
          const next = bundleVersion(put);
          if (put.code.includes(refusedMarker)) return send(422, { error: `init failed: ${refusedMarker}`, version: next, location: null } satisfies ReloadRefused);
          version = next;
          loadedAt = new Date();
          onLine(JSON.stringify({ level: 30, time: Date.now(), msg: 'predictor swapped' }), 'stdout');
          send(200, { version: next, init_ms: 1 } satisfies ReloadAccepted);
        });
      }
      if (req.method === 'POST' && req.url === paths.predict) return send(200, { replica: replicaId, version });
      send(404, { error: 'no route' });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const close = (exit: { code: number | null; signal: string | null }) => {
      this.running.delete(replicaId);
      server.closeAllConnections();
      server.close(() => end(exit));
    };
    this.running.set(replicaId, {
      id: replicaId,
      get version() {
        return version;
      },
      crash: () => close({ code: 1, signal: null }),
    });
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      exited,
      async stop() {
        if (server.listening) close({ code: 0, signal: 'SIGTERM' });
        await exited;
      },
    };
  }

  async close(): Promise<void> {}
}

async function readJson<T>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}
