// The dev session's local control endpoint, so `cortex get`, `logs`, `delete` and `predict`
// in another terminal can read and steer it. Loopback only, guarded by a token that is
// written, with the address, to a session file only this user can read.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { LogLine } from './backend.js';
import { UserError } from '../user-error.js';
import type { DevSession } from './session.js';

export interface SessionFile {
  pid: number;
  control: string;
  token: string;
  gateway: string;
  dir: string;
}

const logBufferSize = 1000;

export function sessionFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.CORTEX_HOME || join(homedir(), '.cortex'), 'dev-session.json');
}

export async function readSessionFile(path = sessionFilePath()): Promise<SessionFile | undefined> {
  try {
    const file = JSON.parse(await readFile(path, 'utf8')) as SessionFile;
    process.kill(file.pid, 0); // throws when that process is gone
    return file;
  } catch {
    return undefined;
  }
}

export class ControlServer {
  private readonly app: FastifyInstance = Fastify({ logger: false });
  private readonly token = randomBytes(16).toString('hex');
  private readonly lines: LogLine[] = [];
  private readonly followers = new Map<(line: LogLine) => void, () => void>();
  private file: string | undefined;

  constructor(private readonly session: DevSession) {
    session.on('log', (line) => {
      this.lines.push(line);
      if (this.lines.length > logBufferSize) this.lines.shift();
      for (const follow of this.followers.keys()) follow(line);
    });

    this.app.addHook('onRequest', async (request, reply) => {
      if (request.headers.authorization !== `Bearer ${this.token}`) return reply.code(401).send({ error: 'bad token' });
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
      const wanted = (line: LogLine) => !api || line.api === api;
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const write = (line: LogLine) => wanted(line) && reply.raw.write(`${JSON.stringify(line)}\n`);
      this.lines.forEach(write);
      if (follow !== '1') return reply.raw.end();
      this.followers.set(write, () => reply.raw.end());
      request.raw.on('close', () => this.followers.delete(write));
    });
  }

  async start(gateway: string, dir: string): Promise<void> {
    const control = await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.file = sessionFilePath();
    const contents: SessionFile = { pid: process.pid, control, token: this.token, gateway, dir };
    await mkdir(dirname(this.file), { recursive: true });
    await writeFile(this.file, JSON.stringify(contents, null, 2), { mode: 0o600 });
  }

  async stop(): Promise<void> {
    for (const end of this.followers.values()) end();
    this.followers.clear();
    if (this.file) await rm(this.file, { force: true });
    await this.app.close();
  }
}

/** A call from another terminal to the running session. */
export async function callSession<T>(file: SessionFile, method: string, path: string): Promise<T> {
  const res = await fetch(`${file.control}${path}`, { method, headers: { authorization: `Bearer ${file.token}` } });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

/** The running session, or the one line that says there is none. */
export async function connectSession(): Promise<SessionFile> {
  const file = await readSessionFile();
  if (!file) throw new UserError('no cortex dev session is running; start one with `cortex dev DIR`');
  return file;
}
