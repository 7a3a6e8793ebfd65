// The dev session's local control endpoint, so `cortex get`, `logs`, `delete` and `predict`
// in another terminal can read and steer it. Loopback only, guarded by a token that is
// written, with the address, to a session file only this user can read.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ReplicaLogLine } from '../model/backend.js';
import { sameToken } from '../../runtime/plugins/admin.js';
import { updateClaim, type SessionClaim } from './claims.js';
import type { DevSession } from './session.js';
import type { SessionFile } from './session-file.js';

const logBufferSize = 1000;

export class ControlServer {
  private readonly app: FastifyInstance = Fastify({ logger: false });
  private readonly token = randomBytes(16).toString('hex');
  /** Per api, so a chatty one cannot push the others' lines out. */
  private readonly lines = new Map<string, ReplicaLogLine[]>();
  private readonly followers = new Map<(line: ReplicaLogLine) => void, () => void>();

  constructor(private readonly session: DevSession) {
    session.on('log', (line) => {
      const lines = this.lines.get(line.api) ?? [];
      this.lines.set(line.api, lines);
      lines.push(line);
      if (lines.length > logBufferSize) lines.shift();
      for (const follow of this.followers.keys()) follow(line);
    });

    this.app.addHook('onRequest', async (request, reply) => {
      if (!sameToken(request.headers.authorization ?? '', `Bearer ${this.token}`)) return reply.code(401).send({ error: 'bad token' });
    });
    this.app.get('/v1/session', async () => this.session.snapshot());
    this.app.post('/v1/reload', async () => {
      await this.session.reloadNow();
      return { ok: true };
    });
    this.app.delete<{ Params: { name: string } }>('/v1/apis/:name', async (request, reply) => {
      if (!(await this.session.deleteApi(request.params.name))) return reply.code(404).send({ error: `no api named "${request.params.name}"` });
      return { ok: true };
    });
    this.app.get<{ Querystring: { api?: string; follow?: string } }>('/v1/logs', (request, reply) => {
      const { api, follow } = request.query;
      const wanted = (line: ReplicaLogLine) => !api || line.api === api;
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const write = (line: ReplicaLogLine) => wanted(line) && reply.raw.write(`${JSON.stringify(line)}\n`);
      const buffered = api ? (this.lines.get(api) ?? []) : [...this.lines.values()].flat().sort((a, b) => a.time.getTime() - b.time.getTime());
      buffered.forEach(write);
      if (follow !== '1') return reply.raw.end();
      this.followers.set(write, () => reply.raw.end());
      request.raw.on('close', () => this.followers.delete(write));
    });
  }

  /** Listens, and fills in the session file this process claimed (claimSession). */
  async start(gateway: string, claim: SessionClaim): Promise<void> {
    const control = await this.app.listen({ host: '127.0.0.1', port: 0 });
    const contents: SessionFile = { pid: process.pid, control, token: this.token, gateway, dir: claim.dir };
    await updateClaim(claim.path, contents);
  }

  async stop(): Promise<void> {
    for (const end of this.followers.values()) end();
    this.followers.clear();
    await this.app.close();
  }
}
