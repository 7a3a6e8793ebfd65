// The local front door: http://localhost:PORT/<deployment>/<api> → a serving replica of that
// api, least outstanding requests first. A replica that refuses the connection (it just died,
// or is draining) is skipped and the request tried on the next one, so the client never sees it.
import { createServer, request as httpRequest, Agent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { isDrainRefusal } from '../../runtime/protocol.js';
import type { ReplicaInfo } from '../model/backend.js';
import { isServing } from '../model/status.js';

export interface Route {
  api: string;
  /** The api's path, e.g. /image/classifier. */
  endpoint: string;
}

export interface GatewaySource {
  routes(): Route[];
  replicas(api: string): ReplicaInfo[];
}

const maxBody = 64 * 1024 * 1024;
const retriable = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export class Gateway {
  private readonly server: Server;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly outstanding = new Map<string, number>();
  private turn = 0;

  constructor(private readonly source: GatewaySource) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) json(res, 400, { error: `bad request: ${err.message}` });
        else res.destroy();
      });
    });
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const { port: actual } = this.server.address() as AddressInfo;
    return `http://${host === '127.0.0.1' || host === '0.0.0.0' ? 'localhost' : host}:${actual}`;
  }

  /** Refuses new connections and closes idle ones; requests under way go on. */
  stopAccepting(): void {
    this.server.close();
    this.server.closeIdleConnections();
  }

  /** Ends every connection, in flight or not; after stopAccepting the server is closed already. */
  async close(): Promise<void> {
    const closed = this.server.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : undefined;
    this.server.closeAllConnections();
    await closed;
    this.agent.destroy();
  }

  /** Requests this gateway has sent to a replica and not yet seen end. */
  outstandingTo(replica: string): number {
    return this.outstanding.get(replica) ?? 0;
  }

  /** The serving replica with the fewest requests in flight through here; ties go round. */
  pick(api: string, exclude: ReadonlySet<string>): ReplicaInfo | undefined {
    const candidates = this.source.replicas(api).filter((r) => isServing(r.status) && r.url && !exclude.has(r.id));
    if (candidates.length === 0) return undefined;
    const least = Math.min(...candidates.map((r) => this.outstanding.get(r.id) ?? 0));
    const best = candidates.filter((r) => (this.outstanding.get(r.id) ?? 0) === least);
    return best[this.turn++ % best.length];
  }

  /**
   * Only the endpoint itself (a trailing slash and a query allowed) reaches a replica, as in
   * Cortex: a replica's /metrics, /healthz and admin paths are not part of the api.
   */
  private route(url: string): { route: Route; rest: string } | undefined {
    const query = url.indexOf('?');
    const path = (query === -1 ? url : url.slice(0, query)).replace(/(.)\/$/, '$1');
    const route = this.source.routes().find((r) => r.endpoint === path);
    return route && { route, rest: `/${query === -1 ? '' : url.slice(query)}` };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (url === '/' && req.method === 'GET') {
      return json(res, 200, { apis: this.source.routes().map((r) => ({ api: r.api, endpoint: r.endpoint })) });
    }
    const match = this.route(url);
    if (!match) {
      const endpoints = this.source.routes().map((r) => r.endpoint);
      const where = endpoints.length ? `the endpoints are: ${endpoints.join(', ')}` : 'no api is served now (each was deleted; save cortex.yaml to bring them back)';
      return json(res, 404, { error: `no api at ${url.split('?')[0]}; ${where}` });
    }

    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      return json(res, 413, { error: (err as Error).message });
    }
    const tried = new Set<string>();
    for (;;) {
      const replica = this.pick(match.route.api, tried);
      if (!replica) {
        return json(res, 503, { error: `no ready replica of ${match.route.api}${tried.size ? ` (tried ${tried.size})` : ''}; see cortex get ${match.route.api}` }, { 'retry-after': '1' });
      }
      tried.add(replica.id);
      const sent = await this.forward(replica, match.rest, req, body, res);
      if (sent) return;
    }
  }

  /** True once the replica answered (and the answer went to the client). */
  private forward(replica: ReplicaInfo, path: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<boolean> {
    // Only the replica's host and port come from its URL; the client's path can never name another host.
    const { hostname, port } = new URL(replica.url!);
    const count = (n: number) => {
      const next = (this.outstanding.get(replica.id) ?? 0) + n;
      // Replicas come and go all session long (scaling, restarts): idle ones leave no entry.
      if (next === 0) this.outstanding.delete(replica.id);
      else this.outstanding.set(replica.id, next);
    };
    count(1);
    let counted = true;
    const done = () => {
      if (counted) count(-1);
      counted = false;
    };
    return new Promise((resolve, reject) => {
      const headers = { ...endToEnd(req.headers), host: `${hostname}:${port}`, 'content-length': String(body.length) };
      const onAnswer = (answer: IncomingMessage) => {
        // A draining replica refuses new work with a 503 and no Retry-After (an overloaded one
        // sends Retry-After): the request has not run, so another replica can take it.
        if (isDrainRefusal(answer.statusCode, answer.headers)) {
          answer.resume();
          done();
          return resolve(false);
        }
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        // Whether the answer ends or the client goes away first, the count is released; a
        // half-read answer's socket is dropped rather than returned to the pool.
        pipeline(answer, res, (err) => {
          done();
          if (err) upstream.destroy();
        });
        resolve(true);
      };
      let upstream: ClientRequest;
      try {
        upstream = httpRequest({ hostname, port, path: path.startsWith('/') ? path : `/${path}`, method: req.method, headers, agent: this.agent }, onAnswer);
      } catch (err) {
        // A path Node refuses to send (control characters): the client's mistake.
        done();
        return reject(err);
      }
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        done();
        if (retriable.has(err.code ?? '') && !res.headersSent) return resolve(false);
        if (!res.headersSent) json(res, 502, { error: `replica ${replica.id} failed: ${err.message}` });
        else res.destroy(err);
        resolve(true);
      });
      upstream.end(body);
    });
  }
}

// Hop-by-hop headers describe one connection (client–gateway or gateway–replica), never both.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !hopByHop.has(name)));
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) {
        reject(new Error(`request body is larger than the gateway's limit of ${maxBody} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
