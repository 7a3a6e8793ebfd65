import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { arrivalTimeouts, clientErrorHandler, trackRequests } from './client-errors.js';
import { closeKeepAliveOnDrain } from './drain.js';
import { readableLogStream } from './log-format.js';
import { bodyTimeoutFrom, logLevelFrom } from './settings.js';

export interface ServerOptions {
  logLevel?: string;
  /** JSON lines (pino) for machines, or readable lines for a person at a terminal. */
  logFormat?: 'json' | 'text';
  /** How long a request's headers and body may take to arrive (CORTEX_BODY_TIMEOUT_MS). */
  bodyTimeoutMs?: number;
}

// A client's id is kept only when logs and a response header can carry it as it is.
const saneRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** The Fastify server every replica runs in. */
export function createServer({ logLevel = logLevelFrom(process.env), logFormat = 'json', bodyTimeoutMs = bodyTimeoutFrom(process.env) }: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: logFormat === 'text' ? { level: logLevel, stream: readableLogStream() } : { level: logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const id = req.headers['x-request-id'];
      return typeof id === 'string' && saneRequestId.test(id) ? id : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Fastify sets the server's requestTimeout from its own option, after creating it.
    requestTimeout: bodyTimeoutMs,
    http: arrivalTimeouts(bodyTimeoutMs),
    clientErrorHandler: clientErrorHandler(bodyTimeoutMs),
  });
  trackRequests(app);
  closeKeepAliveOnDrain(app);
  return app;
}
