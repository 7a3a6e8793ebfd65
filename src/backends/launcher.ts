// What a local backend needs from the place replicas run: start one runtime, reach it by URL,
// read its output, stop it. The process backend forks children; the docker backend runs
// containers. Supervision (readiness, restarts, reloads, scaling) is shared: local.ts.
import type { ApiSpec, Spec } from '../spec/index.js';
import type { BackendName } from '../model/backend.js';

export interface LaunchRequest {
  spec: Spec;
  api: ApiSpec;
  /** Unique within the session, e.g. "classifier-3". */
  replicaId: string;
  /** Guards PUT /-/predictor on this replica. */
  adminToken: string;
  /** Each line the runtime writes (JSON from pino, or a predictor's console.log). */
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
}

/** Resolved once the runtime answers at `url` (live, not yet holding a predictor). */
export interface LaunchedReplica {
  /** Base URL of the runtime, reachable from this process. */
  url: string;
  /** Settles when the replica has gone, for whatever reason. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGTERM (the runtime drains), then a hard kill after `graceMs`; with 0, the hard kill at once. Resolves once it is gone. */
  stop(graceMs: number): Promise<void>;
}

export interface ReplicaLauncher {
  readonly name: BackendName;
  /** One line for the user: why this backend, and what it runs (e.g. the image tag). */
  readonly description: string;
  launch(request: LaunchRequest): Promise<LaunchedReplica>;
  /** Releases what the launcher holds (after every replica has stopped). */
  close(): Promise<void>;
}
