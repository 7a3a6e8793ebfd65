import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { readableLogStream } from './log-format.js';
import { logLevelFrom } from './settings.js';

export interface ServerOptions {
  logLevel?: string;
  /** JSON lines (pino) for machines, or readable lines for a person at a terminal. */
  logFormat?: 'json' | 'text';
}

/** The Fastify server every replica runs in. */
export function createServer({ logLevel = logLevelFrom(process.env), logFormat = 'json' }: ServerOptions = {}): FastifyInstance {
  return Fastify({
    logger: logFormat === 'text' ? { level: logLevel, stream: readableLogStream() } : { level: logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
}
