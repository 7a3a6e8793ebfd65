// The one interface every place replicas run behind: child processes, containers, pods. The
// dev loop, gateway, autoscaler, TUI and `cortex get` talk only to this.
import type { EventEmitter } from 'node:events';
import { endpointAt, type Endpoint } from '../../runtime/client.js';
import type { LogLine } from '../../runtime/log-format.js';
import type { ApiSpec, Spec } from '../spec/index.js';
import type { AutoscalerDecision } from './status.js';

/**
 * The backends that exist (DESIGN.md, Backends); `eks` joins this list when `cortex deploy --cloud`
 * drives it. The registry in src/backends/select.ts holds exactly these (checked by its type).
 */
export const backendNames = ['process', 'docker', 'kind'] as const;
export type BackendName = (typeof backendNames)[number];

/**
 * Where a snapshot's apis run: a dev session's backend, or `eks` for `cortex get --cloud`, which
 * reads a cluster that `cortex deploy --cloud` applied to rather than driving a Backend.
 */
export type SnapshotSource = BackendName | 'eks';

/** A bundled predictor and the config it is initialised with. */
export interface PredictorBundle {
  code: string;
  config: ApiSpec['predictor']['config'];
  /** Content hash, as the runtime computes it (runtime/predictor-slot.ts bundleVersion). */
  version: string;
}

/**
 * The one word a replica's state is shown by (k9s's colours follow it). Tilt's split of it —
 * runtime phase and readiness — is `runtimeOf` and `isServing` in status.ts.
 */
export type ReplicaStatus = 'starting' | 'ready' | 'reloading' | 'error' | 'stopping';

export interface ReplicaInfo {
  /** Unique within the session, e.g. "classifier-3". */
  id: string;
  api: string;
  status: ReplicaStatus;
  /** Where the gateway sends predictions (the data plane), e.g. http://127.0.0.1:41234. */
  url: string | undefined;
  /**
   * Where the control plane (hot swap, readiness, metrics) reaches the runtime, when not at
   * `url`: the API server's pod proxy, with its credentials, for a pod. See controlEndpoint.
   */
  endpoint?: Endpoint;
  /** The predictor version this replica serves, once it serves one. */
  version: string | undefined;
  startedAt: Date;
  restarts: number;
  /** Why it is in `error` (init failure, exit code, last log lines). */
  error: string | undefined;
}

/** Where to reach a replica's control plane, if it runs. */
export function controlEndpoint(replica: Pick<ReplicaInfo, 'url' | 'endpoint'>): Endpoint | undefined {
  return replica.endpoint ?? (replica.url ? endpointAt(replica.url) : undefined);
}

export interface ReloadOutcome {
  version: string;
  /** Replicas that switched, and those that refused (their old code keeps serving). */
  ok: string[];
  failed: Array<{ replica: string; error: string; location?: string }>;
}

/**
 * The one rollback rule: a bundle every replica it was pushed to refused is the code's fault,
 * so the api goes on with the previous bundle (the backend starts new replicas with it, the
 * session keeps calling it current). Refused by some only, the trouble is those replicas'.
 */
export function refusedEverywhere(outcome: ReloadOutcome): boolean {
  return outcome.ok.length === 0 && outcome.failed.length > 0;
}

/** A line a replica (or the dev session itself, replica "cortex") wrote: runtime/log-format's line, placed. */
export interface ReplicaLogLine extends LogLine {
  api: string;
  replica: string;
}

/** What happened to a replica, as a watch says it (client-go): it came, it changed, it is gone. */
export interface ReplicaEvent {
  type: 'added' | 'modified' | 'deleted';
  replica: ReplicaInfo;
}

export interface BackendEvents {
  replica: [ReplicaEvent];
  log: [ReplicaLogLine];
}

export interface Backend extends EventEmitter<BackendEvents> {
  readonly name: BackendName;
  /**
   * Where the backend serves the apis itself (kind: the in-cluster gateway behind the cluster's
   * port mapping); the session then runs no gateway of its own.
   */
  readonly gateway?: string;
  /** Makes the running apis match `spec` (adds, updates, removes), with these bundles. */
  apply(spec: Spec, bundles: ReadonlyMap<string, PredictorBundle>): Promise<void>;
  /**
   * Sets the number of replicas an api should have. Absent where an autoscaler in the cluster is
   * the only writer of replicas: the session then does not scale, and shows `decision` instead.
   */
  scale?(api: string, replicas: number): Promise<void>;
  /** The in-cluster autoscaler's last decision on an api, where the backend scales itself. */
  decision?(api: string): AutoscalerDecision | null;
  /** Pushes a new predictor to every replica of an api; new replicas start with it too. */
  reload(api: string, bundle: PredictorBundle): Promise<ReloadOutcome>;
  /** The replicas of one api, as they are now. */
  replicas(api: string): ReplicaInfo[];
  /** The number of replicas asked for (the autoscaler's last word, or init_replicas). */
  requested(api: string): number;
  /** Removes one api and its replicas. */
  remove(api: string): Promise<void>;
  /**
   * Stops every replica and releases what the backend holds. `now` (a second Ctrl-C): replicas
   * are killed rather than drained, also those an earlier stop() is still waiting for.
   */
  stop(options?: { now?: boolean }): Promise<void>;
}
