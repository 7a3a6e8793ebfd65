// Stopping without failing what is in flight, shared by the standalone runtime and
// `cortex serve`: in-flight requests finish, every response from then on says
// `Connection: close`, then the server stops listening and the process exits — by a deadline
// at the latest, so a stuck request cannot keep it up.
import type { Server } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

const draining = new WeakSet<FastifyInstance>();

/**
 * HTTP has no way to tell a client that an idle keep-alive connection is about to close, so a
 * server that closes one may meet the client's next request on the wire (a reset). What it
 * can do is answer on every connection with `Connection: close` once it drains, so no client
 * sends another request on it. Installed by createServer, before any route.
 */
export function closeKeepAliveOnDrain(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    if (draining.has(app)) reply.header('connection', 'close');
    return payload;
  });
}

/**
 * How long connections that were idle when the drain began stay open, so that a request a
 * client sent on one just before the signal is still answered: a request crosses loopback or a
 * cluster network in well under a millisecond, and 1 s leaves room for a busy machine. Half the
 * drain deadline at most, so that an idle connection alone never makes the process exit 1.
 */
export function idleGraceMs(drainTimeoutMs: number): number {
  return Math.min(1000, Math.floor(drainTimeoutMs / 2));
}

/**
 * Resolves once `server` has no connection open, or `ms` have passed, whichever is first; then
 * after one more turn of the event loop, so that bytes which arrived while a timer ran late
 * are read before anything is called idle.
 */
export async function noConnectionsOrAfter(server: Server, ms: number): Promise<void> {
  const until = performance.now() + ms;
  await new Promise<void>((resolve) => {
    const check = () =>
      server.getConnections((err, open) => {
        if (err || open === 0 || performance.now() >= until) resolve();
        else setTimeout(check, 20);
      });
    check();
  });
  await new Promise((resolve) => setImmediate(resolve));
}

/** Closes `app` once every in-flight request has answered; `graceMs` from idleGraceMs. */
export async function closeServer(app: FastifyInstance, graceMs: number): Promise<void> {
  draining.add(app);
  await noConnectionsOrAfter(app.server, graceMs);
  // Node closes idle connections when it stops listening. A keep-alive socket whose response
  // started before the drain (so without `Connection: close`) turns idle only after it, and
  // close() would then wait out the client's keep-alive (over a minute): close such sockets
  // as soon as they go idle.
  const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}

export interface ShutdownOptions {
  log: FastifyBaseLogger;
  /** Stops serving and releases everything; the process exits 0 when it resolves. */
  stop: () => Promise<void>;
  /** Past this the process exits 1, whatever is still in flight. */
  deadlineMs: number;
}

/** Drains and exits on SIGTERM or SIGINT; the returned function starts the same for any other reason. */
export function exitOnSignals({ log, stop, deadlineMs }: ShutdownOptions): (reason: string) => void {
  let draining = false;
  const drain = (reason: string) => {
    if (draining) return;
    draining = true;
    log.info(`${reason}: draining in-flight requests`);
    setTimeout(() => {
      log.error(`requests still in flight after ${deadlineMs} ms (CORTEX_DRAIN_TIMEOUT_MS); exiting anyway`);
      process.exit(1);
    }, deadlineMs).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stopping failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => drain('SIGTERM'));
  process.on('SIGINT', () => drain('SIGINT'));
  return drain;
}
