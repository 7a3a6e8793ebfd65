// Node's default for an unhandled rejection or an uncaught exception is to exit, taking every
// request in flight and every other api of the process with it. Predictors run on threads of
// their own (predictor-host/), which report theirs to their replica; the entry points (the
// standalone runtime and `cortex serve`) install this guard for anything else: it logs, counts,
// and the server keeps serving.
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { errorMessage } from './http-error.js';

export type StrayKind = 'rejection' | 'exception';

const strays = new EventEmitter<{ stray: [StrayKind] }>();

/** Calls `listener` for each error the guard caught; returns the unsubscribe. */
export function onStrayError(listener: (kind: StrayKind) => void): () => void {
  strays.on('stray', listener);
  return () => strays.off('stray', listener);
}

/** One line for an error no request could catch, with where in the predictor it happened. */
export function logStray(log: FastifyBaseLogger, kind: StrayKind, message: string, location: string | undefined, err?: unknown): void {
  const what = kind === 'rejection' ? 'unhandled promise rejection' : 'uncaught exception';
  log.error(err === undefined ? {} : { err }, `${what}${location ? ` at ${location}` : ''}: ${message} (the server keeps serving)`);
}

let installed = false;

export function guardProcess(log: FastifyBaseLogger): void {
  if (installed) return;
  installed = true;
  const report = (kind: StrayKind, err: unknown) => {
    logStray(log, kind, errorMessage(err), undefined, err);
    strays.emit('stray', kind);
  };
  process.on('unhandledRejection', (reason) => report('rejection', reason));
  process.on('uncaughtException', (err) => report('exception', err));
}
