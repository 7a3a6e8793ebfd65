// What Node's HTTP parser refuses before a route can answer — a request that has not arrived
// within CORTEX_BODY_TIMEOUT_MS, headers over the limit, bytes that are not HTTP — is answered
// in the runtime's JSON error shape, and the connection is closed.
import { randomUUID } from 'node:crypto';
import { maxHeaderSize, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Slow clients are timed by Node's parser rather than by a timer per request: it alone knows
 * when a request's last byte has arrived, it covers a connection that sends nothing, headers
 * that never end and a body that never ends alike, and one sweep checks every connection. The
 * sweep runs every 30 s by default, which would let a hung request live 40 s: a tenth of the
 * timeout (at most 1 s) keeps the 408 close to its deadline. For http.createServer.
 */
export function arrivalTimeouts(bodyTimeoutMs: number): { requestTimeout: number; connectionsCheckingInterval: number } {
  return { requestTimeout: bodyTimeoutMs, connectionsCheckingInterval: Math.min(1000, Math.ceil(bodyTimeoutMs / 10)) };
}

/** The request a connection is carrying: Node hands the error handler only the socket. */
const carrying = new WeakMap<Socket, { id: string; req: IncomingMessage; res: ServerResponse }>();

export function trackRequests(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    carrying.set(request.raw.socket, { id: request.id, req: request.raw, res: reply.raw });
  });
}

/** What to answer an error of Node's parser; the dev gateway answers the same. */
export function refusal(code: string | undefined, bodyTimeoutMs: number): { status: number; error: string } {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, error: `the request did not arrive within ${bodyTimeoutMs} ms (CORTEX_BODY_TIMEOUT_MS); send its headers and body without pausing` };
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, error: `the request headers are larger than the limit of ${maxHeaderSize} bytes` };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, error: 'the chunk extensions of the request body are too large' };
    default:
      return { status: 400, error: `the request is not valid HTTP/1.1 (${code ?? 'unknown'})` };
  }
}

/** Fastify's clientErrorHandler: its own answers a 408 in a shape of its own, with no request id. */
export function clientErrorHandler(bodyTimeoutMs: number) {
  return function handle(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
    // A connection reset needs no answer: the client is gone.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { status, error } = refusal(err.code, bodyTimeoutMs);
    // A socket remembers its last request even after it is over (keep-alive): only one still
    // arriving or unanswered (a 413 answers before the body is in) is the one that failed;
    // otherwise the failure came before Fastify saw a request (headers that never finished)
    // and there is no id yet.
    const last = carrying.get(socket);
    const open = last && (!last.req.complete || !last.res.writableFinished) ? last : undefined;
    const id = open?.id ?? randomUUID();
    if (status === 408) this.log.info({ reqId: id }, `request ${id} answered 408: it did not arrive within ${bodyTimeoutMs} ms`);
    else this.log.debug({ reqId: id, err }, `request ${id} answered ${status}: ${error}`);
    answerAndClose(socket, open?.res, status, { error, request_id: id }, { 'x-request-id': id });
  };
}

/** Writes a JSON answer on a socket Node's parser has given up on, then closes it. */
export function answerAndClose(socket: Socket, res: ServerResponse | undefined, status: number, body: object, headers: Record<string, string> = {}): void {
  // Once a response has begun on this socket, a second one would corrupt it: only close.
  if (socket.writable && !res?.headersSent) {
    const json = JSON.stringify(body);
    const lines = Object.entries({ 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(json)), ...headers, connection: 'close' });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${json}`);
  }
  socket.destroy();
}
