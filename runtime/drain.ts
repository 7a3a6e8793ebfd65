// Stopping without failing what is in flight, shared by the standalone runtime and
// `cortex serve`: new requests get 503 (Fastify's return503OnClosing), in-flight ones finish,
// then the process exits — by a deadline at the latest, so a stuck request cannot keep it up.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/** Closes `app` once every in-flight request has answered. */
export async function closeServer(app: FastifyInstance): Promise<void> {
  // A keep-alive socket that carried an in-flight request turns idle only after its response,
  // and close() would then wait out the client's keep-alive (over a minute): close such
  // sockets as soon as they go idle.
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
