// The one interface every place replicas run behind: child processes, containers, pods. The
// dev loop, gateway, autoscaler, TUI and `cortex get` talk only to this.
import type { EventEmitter } from 'node:events';
import type { ApiSpec, Spec } from '../spec/index.js';

export type BackendName = 'process' | 'docker' | 'kind' | 'eks';

/** A bundled predictor and the config it is initialised with. */
export interface PredictorBundle {
  code: string;
  config: ApiSpec['predictor']['config'];
  /** Content hash, as the runtime computes it (runtime/predictor-slot.ts bundleVersion). */
  version: string;
}

/** Tilt's split: how the replica's process is doing, and whether it serves. */
export type ReplicaStatus = 'starting' | 'ready' | 'reloading' | 'error' | 'stopping';

export interface ReplicaInfo {
  /** Unique within the session, e.g. "classifier-3". */
  id: string;
  api: string;
  status: ReplicaStatus;
  /** Where the gateway and the metrics collector reach the runtime, e.g. http://127.0.0.1:41234. */
  url: string | undefined;
  /** The predictor version this replica serves, once it serves one. */
  version: string | undefined;
  startedAt: Date;
  restarts: number;
  /** Why it is in `error` (init failure, exit code, last log lines). */
  error: string | undefined;
}

export interface ReloadOutcome {
  version: string;
  /** Replicas that switched, and those that refused (their old code keeps serving). */
  ok: string[];
  failed: Array<{ replica: string; error: string; location?: string }>;
}

export interface LogLine {
  api: string;
  replica: string;
  time: Date;
  level: string;
  message: string;
}

export interface BackendEvents {
  replica: [ReplicaInfo];
  log: [LogLine];
}

export interface Backend extends EventEmitter<BackendEvents> {
  readonly name: BackendName;
  /** Makes the running apis match `spec` (adds, updates, removes), with these bundles. */
  apply(spec: Spec, bundles: ReadonlyMap<string, PredictorBundle>): Promise<void>;
  /** Sets the number of replicas an api should have. */
  scale(api: string, replicas: number): Promise<void>;
  /** Pushes a new predictor to every replica of an api; new replicas start with it too. */
  reload(api: string, bundle: PredictorBundle): Promise<ReloadOutcome>;
  /** The replicas of one api, as they are now. */
  replicas(api: string): ReplicaInfo[];
  /** The number of replicas asked for (the autoscaler's last word, or init_replicas). */
  requested(api: string): number;
  /** Removes one api and its replicas. */
  remove(api: string): Promise<void>;
  /** Stops every replica and releases what the backend holds. */
  stop(): Promise<void>;
}
