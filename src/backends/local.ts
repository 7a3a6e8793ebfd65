// Supervision shared by the backends whose replicas run on this machine (process, docker):
// start replicas, wait until they are live, push the predictor, restart the ones that die
// (with backoff), scale, and hot-swap. Where a replica runs is the launcher's business.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { parseLogLine } from '../../runtime/log-format.js';
import type { ApiSpec, Spec } from '../spec/index.js';
import { controlEndpoint, refusedEverywhere, type Backend, type BackendEvents, type PredictorBundle, type ReloadOutcome, type ReplicaInfo } from '../model/backend.js';
import { pushBundle, readiness } from '../../runtime/client.js';
import type { LaunchedReplica, ReplicaLauncher } from './launcher.js';
import { afterEarlierReloads } from './reload-queue.js';

export interface LocalBackendOptions {
  /** How long a stopping replica may drain before it is killed. */
  graceMs?: number;
  /** First restart delay; doubles per crash up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** One replica as the supervisor holds it (what it reports is `info`). */
interface Supervised {
  info: ReplicaInfo;
  launched?: LaunchedReplica;
  /** False once the replica should go away: it is not restarted after that. */
  wanted: boolean;
  /** Started with resources or environment the spec no longer has: replaced once fresh ones serve. */
  outdated: boolean;
  /** Ends a restart backoff early (the replica was retired meanwhile). */
  wake: (() => void) | undefined;
  recentLines: string[];
  done: Promise<void>;
}

interface ApiRuntime {
  spec: Spec;
  api: ApiSpec;
  bundle: PredictorBundle;
  requested: number;
  replicas: Map<string, Supervised>;
  nextIndex: number;
  /** Reloads of one api run one after another, so an older bundle never lands last. */
  reloads: Promise<unknown>;
}

const recentLineCount = 8;

export class LocalBackend extends EventEmitter<BackendEvents> implements Backend {
  readonly name: Backend['name'];
  private readonly apis = new Map<string, ApiRuntime>();
  /**
   * Removed apis whose replicas are still on their way out, and when they will all be gone:
   * stop() waits for them too, and replicas() still shows them, stopping.
   */
  private readonly departing = new Map<ApiRuntime, Promise<void>>();
  private readonly token = randomBytes(16).toString('hex');
  private readonly graceMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private stopping = false;
  /** Set by stop({ now: true }): no replica is given a grace any more. */
  private killing = false;

  constructor(
    readonly launcher: ReplicaLauncher,
    options: LocalBackendOptions = {},
  ) {
    super();
    this.name = launcher.name;
    this.graceMs = options.graceMs ?? 10_000;
    this.backoffMs = options.backoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  async apply(spec: Spec, bundles: ReadonlyMap<string, PredictorBundle>): Promise<void> {
    const names = new Set(spec.apis.map((a) => a.name));
    for (const name of [...this.apis.keys()]) if (!names.has(name)) void this.remove(name);
    for (const api of spec.apis) {
      const bundle = bundles.get(api.name);
      if (!bundle) throw new Error(`no bundle for api ${api.name}`);
      const existing = this.apis.get(api.name);
      if (!existing) {
        this.apis.set(api.name, { spec, api, bundle, requested: api.autoscaling.initReplicas, replicas: new Map(), nextIndex: 1, reloads: Promise.resolve() });
        this.reconcile(api.name);
        continue;
      }
      const { minReplicas, maxReplicas } = api.autoscaling;
      const restart = JSON.stringify(existing.api.compute) !== JSON.stringify(api.compute) || JSON.stringify(existing.api.predictor.env) !== JSON.stringify(api.predictor.env);
      Object.assign(existing, { spec, api, requested: Math.min(maxReplicas, Math.max(minReplicas, existing.requested)) });
      // Resources and environment are fixed when a replica starts: start replacements, and
      // retire the old ones only once the new ones serve (a rolling restart).
      if (restart) for (const replica of existing.replicas.values()) replica.outdated = true;
      this.reconcile(api.name);
      if (bundle.version !== existing.bundle.version) await this.reload(api.name, bundle);
    }
  }

  async scale(name: string, replicas: number): Promise<void> {
    const api = this.apis.get(name);
    if (!api) return;
    api.requested = replicas;
    this.reconcile(name);
  }

  reload(name: string, bundle: PredictorBundle): Promise<ReloadOutcome> {
    const api = this.apis.get(name);
    if (!api) return Promise.reject(new Error(`no api ${name}`));
    return afterEarlierReloads(api, () => this.reloadNow(api, bundle));
  }

  private async reloadNow(api: ApiRuntime, bundle: PredictorBundle): Promise<ReloadOutcome> {
    const previous = api.bundle;
    api.bundle = bundle;
    const outcome: ReloadOutcome = { version: bundle.version, ok: [], failed: [] };
    const targets = [...api.replicas.values()].filter((r) => r.wanted && r.info.url && (r.info.status === 'ready' || r.info.status === 'error'));
    await Promise.all(
      targets.map(async (replica) => {
        const before = replica.info.status;
        this.update(replica, { status: 'reloading' });
        const result = await this.push(replica, bundle);
        if (result.ok) outcome.ok.push(replica.info.id);
        else outcome.failed.push({ replica: replica.info.id, error: result.error ?? 'refused', ...(result.location ? { location: result.location } : {}) });
        // A refused bundle leaves the old code serving: the replica is as ready as it was.
        if (replica.info.status === 'reloading') this.update(replica, { status: result.ok || before === 'ready' ? 'ready' : 'error' });
      }),
    );
    // Refused everywhere: replicas started from now on get the code that works.
    if (refusedEverywhere(outcome) && api.bundle === bundle) api.bundle = previous;
    // Refused by some only: the trouble is theirs, not the code's. Fresh replicas (which start
    // with the new code) replace them once they serve, like any rolling restart.
    const refused = outcome.ok.length > 0 ? outcome.failed.map((f) => f.replica) : [];
    for (const id of refused) {
      const replica = api.replicas.get(id);
      if (replica) replica.outdated = true;
    }
    if (refused.length > 0) this.reconcile(api.api.name);
    return outcome;
  }

  replicas(name: string): ReplicaInfo[] {
    return this.supervised(name).map((r) => ({ ...r.info }));
  }

  /** An api's replicas, those of a removed api of that name still stopping included. */
  private supervised(name?: string): Supervised[] {
    const runtimes = [...this.apis.values(), ...this.departing.keys()].filter((a) => name === undefined || a.api.name === name);
    return runtimes.flatMap((a) => [...a.replicas.values()]);
  }

  requested(name: string): number {
    return this.apis.get(name)?.requested ?? 0;
  }

  async remove(name: string): Promise<void> {
    const api = this.apis.get(name);
    if (!api) return;
    // Gone from the map at once, so an apply() meanwhile starts the api afresh instead of
    // adopting replicas that are on their way out.
    this.apis.delete(name);
    const replicas = [...api.replicas.values()];
    for (const r of replicas) this.retire(r);
    const gone = Promise.all(replicas.map((r) => r.done)).then(() => undefined);
    this.departing.set(api, gone);
    await gone;
    this.departing.delete(api);
  }

  async stop(options: { now?: boolean } = {}): Promise<void> {
    this.stopping = true;
    if (options.now) {
      this.killing = true;
      for (const replica of this.supervised()) void this.halt(replica);
    }
    await Promise.all([...this.apis.keys()].map((name) => this.remove(name)));
    await Promise.all(this.departing.values());
    await this.launcher.close();
  }

  /** Starts or retires replicas until the api has `requested` current ones. */
  private reconcile(name: string): void {
    const api = this.apis.get(name);
    if (!api || this.stopping) return;
    const current = [...api.replicas.values()].filter((r) => r.wanted && !r.outdated);
    for (let i = current.length; i < api.requested; i++) this.startReplica(api);
    // Retire the least useful first: not yet serving, then the newest.
    const surplus = current
      .sort((a, b) => Number(b.info.status !== 'ready') - Number(a.info.status !== 'ready') || b.info.startedAt.getTime() - a.info.startedAt.getTime())
      .slice(0, Math.max(0, current.length - api.requested));
    for (const r of surplus) this.retire(r);
    this.retireOutdated(api);
  }

  /** Outdated replicas go once enough current ones serve; until then they keep serving. */
  private retireOutdated(api: ApiRuntime): void {
    const all = [...api.replicas.values()].filter((r) => r.wanted);
    const serving = all.filter((r) => !r.outdated && r.info.status === 'ready').length;
    if (serving >= api.requested) for (const r of all) if (r.outdated) this.retire(r);
  }

  private startReplica(api: ApiRuntime): void {
    const id = `${api.api.name}-${api.nextIndex++}`;
    const replica: Supervised = {
      info: { id, api: api.api.name, status: 'starting', url: undefined, version: undefined, startedAt: new Date(), restarts: 0, error: undefined },
      wanted: true,
      outdated: false,
      wake: undefined,
      recentLines: [],
      done: Promise.resolve(),
    };
    api.replicas.set(id, replica);
    // Added before supervise() reports its first change.
    this.emit('replica', { type: 'added', replica: { ...replica.info } });
    replica.done = this.supervise(api, replica).finally(() => {
      api.replicas.delete(id);
      this.emit('replica', { type: 'deleted', replica: { ...replica.info, status: 'stopping' } });
    });
  }

  /** One replica's whole life: launch, become ready, and relaunch after a crash while wanted. */
  private async supervise(api: ApiRuntime, replica: Supervised): Promise<void> {
    let backoff = this.backoffMs;
    while (replica.wanted) {
      this.update(replica, { status: 'starting', url: undefined, version: undefined, startedAt: new Date() });
      let exit: { code: number | null; signal: string | null } | undefined;
      try {
        const launched = await this.launcher.launch({
          spec: api.spec,
          api: api.api,
          replicaId: replica.info.id,
          adminToken: this.token,
          onLine: (line) => this.onLine(replica, line),
        });
        replica.launched = launched;
        if (!replica.wanted) break;
        void launched.exited.then((e) => (exit = e));
        this.update(replica, { url: launched.url });
        await this.pushCurrent(api, replica);
        const started = Date.now();
        await launched.exited;
        if (Date.now() - started > 60_000) backoff = this.backoffMs;
      } catch (err) {
        this.update(replica, { status: 'error', error: (err as Error).message });
      }
      if (!replica.wanted) break;
      const why = exit ? `exited (${exit.signal ?? `code ${exit.code}`})` : replica.info.error ?? 'failed to start';
      const tail = replica.recentLines.slice(-3).join(' | ');
      this.update(replica, { status: 'error', url: undefined, error: `${why}; restarting in ${(backoff / 1000).toFixed(1)} s${tail ? ` — ${tail}` : ''}` });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff);
        replica.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      replica.wake = undefined;
      backoff = Math.min(backoff * 2, this.maxBackoffMs);
      if (replica.wanted) replica.info.restarts++;
    }
    await this.halt(replica);
  }

  /**
   * Stops a replica's runtime. One that has not served since it started (it may be minutes
   * into an init that downloads a model) has nothing to drain: it is killed, not given the grace.
   */
  private async halt(replica: Supervised): Promise<void> {
    const served = replica.info.version !== undefined;
    await replica.launched?.stop(served && !this.killing ? this.graceMs : 0);
  }

  /** Pushes the api's current bundle, again if it changed meanwhile, so no replica serves stale code. */
  private async pushCurrent(api: ApiRuntime, replica: Supervised): Promise<void> {
    for (;;) {
      const bundle = api.bundle;
      const result = await this.push(replica, bundle);
      if (!replica.wanted) return;
      // A replica with no working predictor yet cannot serve: show why. One that already
      // serves keeps its old code and stays ready.
      if (!result.ok && replica.info.version === undefined) this.update(replica, { status: 'error', error: result.error });
      if (api.bundle === bundle) return;
    }
  }

  private async push(replica: Supervised, bundle: PredictorBundle) {
    const url = controlEndpoint(replica.info);
    if (!url) return { ok: false, version: bundle.version, error: 'replica is not running' };
    try {
      const result = await pushBundle(url, this.token, bundle);
      if (!result.ok || !replica.wanted) return result;
      // The swap answered; the replica's own readiness has the last word on serving.
      const ready = await readiness(url);
      if (!ready.ready) {
        this.update(replica, { status: 'error', error: `not ready after the swap: ${ready.error}` });
        return { ok: false, version: bundle.version, error: ready.error };
      }
      this.update(replica, { status: 'ready', version: ready.version ?? result.version, error: undefined });
      return result;
    } catch (err) {
      return { ok: false, version: bundle.version, error: (err as Error).message };
    }
  }

  private retire(replica: Supervised): void {
    if (!replica.wanted) return;
    replica.wanted = false;
    this.update(replica, { status: 'stopping' });
    // The supervise loop notices `wanted` and stops the replica; stopping it here ends a wait
    // on a running one, and waking it ends a restart backoff.
    void this.halt(replica);
    replica.wake?.();
  }

  private onLine(replica: Supervised, raw: string): void {
    const line = parseLogLine(raw);
    replica.recentLines.push(line.message);
    if (replica.recentLines.length > recentLineCount) replica.recentLines.shift();
    this.emit('log', { api: replica.info.api, replica: replica.info.id, ...line });
  }

  private update(replica: Supervised, change: Partial<ReplicaInfo>): void {
    Object.assign(replica.info, change);
    this.emit('replica', { type: 'modified', replica: { ...replica.info } });
    if (change.status === 'ready' && !replica.outdated) {
      const api = this.apis.get(replica.info.api);
      if (api) this.retireOutdated(api);
    }
  }
}
