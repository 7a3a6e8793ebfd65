// Node's default for an unhandled rejection or an uncaught exception is to exit, taking every
// request in flight and every other api of the process with it. A predictor can cause either
// outside any request (`Promise.reject(…)` it never awaits, a throw inside its own setTimeout),
// where no request handler can catch it. The entry points (the standalone runtime and
// `cortex serve`) install this guard: it logs where in the predictor it happened, counts it,
// and the server keeps serving.
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { bundlesRoot } from './bundle-dir.js';
import { errorMessage } from './http-error.js';
import { userFrame } from './predictor-slot.js';

export type StrayKind = 'rejection' | 'exception';

const strays = new EventEmitter<{ stray: [StrayKind] }>();

/** Calls `listener` for each error the guard caught; returns the unsubscribe. */
export function onStrayError(listener: (kind: StrayKind) => void): () => void {
  strays.on('stray', listener);
  return () => strays.off('stray', listener);
}

let installed = false;

export function guardProcess(log: FastifyBaseLogger): void {
  if (installed) return;
  installed = true;
  const report = (kind: StrayKind, err: unknown) => {
    const at = userFrame((err as Error | undefined)?.stack, bundlesRoot);
    const what = kind === 'rejection' ? 'unhandled promise rejection' : 'uncaught exception';
    log.error({ err }, `${what}${at ? ` at ${at}` : ''}: ${errorMessage(err)} (the server keeps serving)`);
    strays.emit('stray', kind);
  };
  process.on('unhandledRejection', (reason) => report('rejection', reason));
  process.on('uncaughtException', (err) => report('exception', err));
}
