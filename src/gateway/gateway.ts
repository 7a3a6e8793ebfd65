// The front door, in `cortex dev` and in a cluster (src/cluster/gateway.ts): /<deployment>/<api> → a serving replica of that
// api, least outstanding requests first. A replica that refuses the connection (it just died,
// or is draining) is skipped and the request tried on the next one, so the client never sees it.
// A body is read whole before any replica sees it (a retry needs it, and a slow client then
// holds no replica connection), within the same limits a replica sets: CORTEX_BODY_LIMIT and
// CORTEX_BODY_TIMEOUT_MS.
import { createServer, request as httpRequest, Agent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { answerAndClose, arrivalTimeouts, refusal } from '../../runtime/client-errors.js';
import { noConnectionsOrAfter } from '../../runtime/drain.js';
import { isDrainRefusal } from '../../runtime/protocol.js';
import { bodyLimitFrom, bodyTimeoutFrom } from '../../runtime/settings.js';
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

export interface GatewayLimits {
  /** The largest body buffered for a replica; a larger one is answered 413, as the replica would. */
  bodyLimit: number;
  /** How long a request's headers and body may take to arrive before it is answered 408. */
  bodyTimeoutMs: number;
  /** The bytes of every body being held at once; a body that would go past it is answered 503. */
  bufferedLimit: number;
}

export function gatewayLimitsFrom(env: NodeJS.ProcessEnv): GatewayLimits {
  const bodyLimit = bodyLimitFrom(env);
  return { bodyLimit, bodyTimeoutMs: bodyTimeoutFrom(env), bufferedLimit: 32 * bodyLimit };
}

// After refusing a body the gateway reads on, dropping the bytes, so that the client (still
// sending) can read the refusal instead of a reset; this much, then it closes.
const discardLimit = 64 * 1024 * 1024;
// As in runtime/drain.ts: connections idle when the gateway stops stay open this long, so a
// request sent on one just before is answered.
const idleGraceMs = 1000;
const retriable = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export class Gateway {
  private readonly server: Server;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly outstanding = new Map<string, number>();
  private turn = 0;
  /** Bytes of request bodies held now, read or being read. */
  private buffered = 0;
  /** The response each connection is carrying, for the answer to a request Node gives up on. */
  private readonly carrying = new WeakMap<Socket, ServerResponse>();
  private readonly inFlight = new Set<ServerResponse>();
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private closed = false;
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: GatewaySource,
    private readonly limits: GatewayLimits = gatewayLimitsFrom(process.env),
  ) {
    const { bodyTimeoutMs } = limits;
    this.server = createServer(arrivalTimeouts(bodyTimeoutMs), (req, res) => {
      this.carrying.set(req.socket, res);
      this.inFlight.add(res);
      res.once('close', () => this.inFlight.delete(res));
      if (this.stopping) res.setHeader('connection', 'close');
      this.handle(req, res).catch((err: Error) => {
        if (!res.headersSent) json(res, 400, { error: `bad request: ${err.message}` });
        else res.destroy();
      });
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const { status, error } = refusal(err.code, bodyTimeoutMs);
      const res = this.carrying.get(socket);
      answerAndClose(socket, res && !res.writableFinished ? res : undefined, status, { error });
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

  /**
   * Stops taking requests without resetting one a client has sent: from now on every answer
   * says `Connection: close`; connections idle now get a short grace for a request already on
   * its way, then the gateway stops listening (resolved then) and closes connections as they
   * go idle.
   */
  stopAccepting(): Promise<void> {
    this.stopped ??= this.stop();
    return this.stopped;
  }

  private async stop(): Promise<void> {
    this.stopping = true;
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    // Closing an idle connection is safe from the client's side: replicas draining now need not
    // wait out their own grace for the gateway's pooled connections.
    for (const sockets of Object.values(this.agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
    await noConnectionsOrAfter(this.server, idleGraceMs);
    if (this.closed) return;
    this.server.close();
    this.sweep = setInterval(() => this.server.closeIdleConnections(), 50);
  }

  /** Ends every connection, in flight or not. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweep);
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

    const body = await this.readBody(req, res);
    if (!body) return;
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

  /**
   * The whole body, as the chunks it came in (sent on as they are: joining them would copy every
   * body once more), or undefined when there is none to forward: it was refused (413 over the
   * limit, 503 past the bytes held for all requests), or the client went away. Its bytes count
   * against bufferedLimit until the response is over.
   */
  private readBody(req: IncomingMessage, res: ServerResponse): Promise<Body | undefined> {
    const { bodyLimit, bufferedLimit } = this.limits;
    const tooLarge = `request body is larger than the limit of ${bodyLimit} bytes (CORTEX_BODY_LIMIT)`;
    if (Number(req.headers['content-length']) > bodyLimit) {
      refuseBody(req, res, 413, tooLarge);
      return Promise.resolve(undefined);
    }
    let held = 0;
    res.once('close', () => (this.buffered -= held));
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        if (held + chunk.length > bodyLimit) {
          refuseBody(req, res, 413, tooLarge);
          return resolve(undefined);
        }
        if (this.buffered + chunk.length > bufferedLimit) {
          refuseBody(req, res, 503, `the gateway is holding ${bufferedLimit} bytes of request bodies, its limit; retry shortly`, { 'retry-after': '1' });
          return resolve(undefined);
        }
        held += chunk.length;
        this.buffered += chunk.length;
        chunks.push(chunk);
      });
      req.on('end', () => resolve({ chunks, length: held }));
      // A client gone, or a request Node timed out (answered 408 by the clientError handler).
      req.on('close', () => resolve(undefined));
    });
  }

  /** True once the replica answered (and the answer went to the client). */
  private forward(replica: ReplicaInfo, path: string, req: IncomingMessage, body: Body, res: ServerResponse): Promise<boolean> {
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
        const cut = () => {
          done();
          upstream.destroy();
          res.destroy();
        };
        // The client went away while the replica worked.
        if (res.destroyed) {
          cut();
          return resolve(true);
        }
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        // Whether the answer ends or the client goes away first, the count is released, and a
        // half-read answer's socket is dropped rather than returned to the pool (an answer cut
        // short upstream is the request's 'error', below). By hand, not stream.pipeline: that
        // made and fired an AbortController for every request.
        answer.pipe(res);
        res.once('finish', done);
        res.once('close', () => res.writableFinished || cut());
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
      // Corked, the headers and every chunk leave in one writev instead of a write each.
      upstream.cork();
      for (const chunk of body.chunks) upstream.write(chunk);
      upstream.end();
    });
  }
}

interface Body {
  chunks: Buffer[];
  length: number;
}

// Hop-by-hop headers describe one connection (client–gateway or gateway–replica), never both.
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const name in headers) if (!hopByHop.has(name)) kept[name] = headers[name];
  return kept;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * Answers a request whose body is still arriving so that the client can read the answer:
 * closing the socket while it sends would reset the connection, often before it reads. The
 * answer goes at once with `Connection: close`; the body is read on and dropped, and the
 * connection closes when it ends, past discardLimit bytes, or at the request timeout.
 */
function refuseBody(req: IncomingMessage, res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify({ error });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), connection: 'close', ...headers });
  res.write(text);
  let dropped = 0;
  req.removeAllListeners('data');
  const drop = (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped <= discardLimit) return;
    req.off('data', drop);
    res.end();
  };
  req.on('data', drop);
  req.once('end', () => res.end());
}
