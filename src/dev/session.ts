// `cortex dev`: the local loop. Watches the spec and predictors, bundles on save and pushes
// the bundle to every replica, routes traffic through the gateway, scrapes metrics, runs the
// autoscaler, and keeps the one status model every view reads (state.ts).
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { bundleVersion } from '../../runtime/predictor-slot.js';
import { SettingsError } from '../../runtime/settings.js';
import { loadSpec, type ApiSpec, type Spec } from '../spec/index.js';
import { UserError } from '../user-error.js';
import { autoscale, averageInFlight, type Recommendation } from './autoscaler.js';
import type { Backend, LogLine, PredictorBundle } from './backend.js';
import { BuildError, Bundler, displayLocation } from './bundler.js';
import { Collector } from './collector.js';
import { Gateway, gatewayLimitsFrom, type GatewayLimits } from './gateway.js';
import { apiStatus, isServing, type ApiSnapshot, type ReloadSnapshot, type SessionEvents, type SessionSnapshot, type SessionView } from './state.js';

export interface DevOptions {
  dir: string;
  port: number;
  backend: Backend;
  /** One line: which backend runs the replicas and why. */
  backendReason: string;
}

interface ApiLoop {
  spec: ApiSpec;
  bundler: Bundler;
  inputs: Set<string>;
  /** The bundle replicas serve (the last one that built and loaded). */
  current: PredictorBundle;
  lastReload: ReloadSnapshot | null;
  /** When the code replicas serve now began serving (a failed reload does not move it). */
  updatedAt: Date;
  autoscaler: { history: Recommendation[]; startedAt: number; nextAt: number; decision: { decision: string; at: string } | null };
  pending: NodeJS.Timeout | undefined;
  /** The second look after a save; see settleMs. */
  settle: NodeJS.Timeout | undefined;
  /** When the save that started the pending rebuild happened. */
  savedAt: number | undefined;
  /** A bundle every replica refused: not pushed again until it changes or `r` forces it. */
  failedVersion: string | undefined;
  building: Promise<void>;
}

const tickMs = 1000;
const debounceMs = 15;
// chokidar reports the first change to a file, then drops further changes to it for 50 ms and
// never reports them later: a second write in that window (an editor that truncates and then
// writes, a formatter on save) would go unseen. So every save gets a second look after it.
const settleMs = 75;
const sourceExtensions = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs', '.jsx', '.json']);

export class DevSession extends EventEmitter<SessionEvents> implements SessionView {
  private spec!: Spec;
  private readonly loops = new Map<string, ApiLoop>();
  private readonly collector = new Collector(() => Math.max(...[...this.loops.values()].map((l) => l.spec.autoscaling.windowMs), 60_000));
  private readonly gateway: Gateway;
  private gatewayUrl = '';
  private watcher: FSWatcher | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date();
  private stopped: Promise<void> | undefined;
  private respecs: Promise<void> = Promise.resolve();
  private respecTimer: NodeJS.Timeout | undefined;
  /** The cortex.yaml text last applied or refused, so a second look at an unchanged file does nothing. */
  private specText: string | undefined;
  private specError: { message: string; at: string } | null = null;
  /** Files outside the spec's folder that a predictor imports: watched one by one. */
  private readonly watchedOutside = new Set<string>();
  private ticking = false;

  private constructor(private readonly options: DevOptions) {
    super();
    const backend = options.backend;
    let limits: GatewayLimits;
    try {
      limits = gatewayLimitsFrom(process.env);
    } catch (err) {
      throw err instanceof SettingsError ? new UserError(err.message) : err;
    }
    this.gateway = new Gateway(
      {
        routes: () => [...this.loops.values()].map((l) => ({ api: l.spec.name, endpoint: l.spec.networking.endpoint })),
        replicas: (api) => backend.replicas(api),
      },
      limits,
    );
    backend.on('replica', () => this.emit('change'));
    backend.on('log', (line) => this.emit('log', line));
  }

  static async start(options: DevOptions): Promise<DevSession> {
    const session = new DevSession(options);
    try {
      await session.begin();
    } catch (err) {
      await session.stop();
      throw err;
    }
    return session;
  }

  private async begin(): Promise<void> {
    this.spec = await loadSpec(this.options.dir);
    this.specText = await readFile(this.spec.file, 'utf8').catch(() => undefined);
    const bundles = new Map<string, PredictorBundle>();
    for (const api of this.spec.apis) {
      const loop = await this.buildLoop(api);
      this.loops.set(api.name, loop);
      bundles.set(api.name, loop.current);
    }
    // The port first: a clash is one line before any replica has started (and loaded a model).
    try {
      this.gatewayUrl = await this.gateway.listen(this.options.port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UserError(`port ${this.options.port} is already in use; pick another with --port`);
      throw err;
    }
    await this.options.backend.apply(this.spec, bundles);
    this.ticker = setInterval(() => {
      // A slow scrape must not overlap the next one: out-of-order scrapes would count twice.
      if (this.ticking) return;
      this.ticking = true;
      this.tick()
        .catch((err: Error) => this.note('cortex', 'ERROR', `metrics and autoscaling tick failed: ${err.message}`))
        .finally(() => (this.ticking = false));
    }, tickMs);
    this.watcher = watch(this.spec.dir, {
      ignoreInitial: true,
      ignored: (path) => /(^|[/\\])(node_modules|\.git|\.cortex|dist)([/\\]|$)/.test(path),
    });
    this.watcher.on('all', (_event, path) => this.onFileChange(path));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
    for (const loop of this.loops.values()) this.watchOutside(loop.inputs);
  }

  /** A predictor may import files beside its folder (../shared.ts): those are watched too. */
  private watchOutside(inputs: Iterable<string>): void {
    if (!this.watcher) return;
    for (const path of inputs) {
      if (isWithin(this.spec.dir, path) || path.includes(`${sep}node_modules${sep}`) || this.watchedOutside.has(path)) continue;
      this.watchedOutside.add(path);
      this.watcher.add(path);
    }
  }

  snapshot(): SessionSnapshot {
    const backend = this.options.backend;
    return {
      pid: process.pid,
      dir: this.spec?.dir ?? this.options.dir,
      backend: { name: backend.name, description: this.options.backendReason },
      gateway: this.gatewayUrl,
      startedAt: this.startedAt.toISOString(),
      specError: this.specError,
      apis: [...this.loops.values()].map((loop): ApiSnapshot => {
        const replicas = backend.replicas(loop.spec.name);
        const requested = backend.requested(loop.spec.name);
        const version = loop.current.version;
        return {
          name: loop.spec.name,
          deployment: loop.spec.deployment,
          endpoint: `${this.gatewayUrl}${loop.spec.networking.endpoint}`,
          status: apiStatus(replicas, requested, version, loop.spec.autoscaling.minReplicas),
          requested,
          available: replicas.filter((r) => isServing(r.status)).length,
          upToDate: replicas.filter((r) => r.status === 'ready' && r.version === version).length,
          version,
          lastReload: loop.lastReload,
          updatedAt: loop.updatedAt.toISOString(),
          autoscaler: loop.autoscaler.decision,
          replicas: replicas.map((r) => ({
            id: r.id,
            status: r.status,
            url: r.url ?? null,
            version: r.version ?? null,
            startedAt: r.startedAt.toISOString(),
            restarts: r.restarts,
            error: r.error ?? null,
            ...this.collector.figures(r.id),
          })),
          traffic: this.collector.traffic(loop.spec.name),
        };
      }),
    };
  }

  async reloadNow(): Promise<void> {
    await Promise.all([...this.loops.values()].map((loop) => this.rebuild(loop, Date.now(), true)));
  }

  /** Removes one api from the session (`cortex delete`). */
  async deleteApi(name: string): Promise<boolean> {
    const loop = this.loops.get(name);
    if (!loop) return false;
    this.loops.delete(name);
    await this.options.backend.remove(name);
    await loop.bundler.dispose();
    this.collector.forget(name);
    this.note(name, 'INFO', `deleted ${name}; it comes back when cortex.yaml changes or dev restarts`);
    this.emit('change');
    return true;
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.loops.size > 0) this.note('cortex', 'INFO', 'stopping: replicas finish what they are doing, then exit (a second Ctrl-C exits at once)');
      clearInterval(this.ticker);
      clearTimeout(this.respecTimer);
      for (const loop of this.loops.values()) {
        clearTimeout(loop.pending);
        clearTimeout(loop.settle);
      }
      await this.watcher?.close();
      // No new clients, but requests already through the gateway finish while replicas drain.
      const gatewayStopped = this.gateway.stopAccepting();
      await this.options.backend.stop();
      await gatewayStopped;
      await this.gateway.close().catch(() => undefined);
      await Promise.all([...this.loops.values()].map((l) => l.bundler.dispose()));
    })();
    return this.stopped;
  }

  /** A loop for one api, its first bundle built; the caller adds it to `loops`. */
  private async buildLoop(api: ApiSpec): Promise<ApiLoop> {
    const bundler = new Bundler(api.predictor.path);
    let built;
    try {
      built = await bundler.build();
    } catch (err) {
      await bundler.dispose();
      throw err instanceof BuildError ? new UserError(err.message) : err;
    }
    return {
      spec: api,
      bundler,
      inputs: new Set(built.inputs),
      current: toBundle(built.code, api),
      lastReload: null,
      updatedAt: new Date(),
      autoscaler: { history: [], startedAt: Date.now(), nextAt: Date.now() + decisionEvery(api), decision: null },
      pending: undefined,
      settle: undefined,
      savedAt: undefined,
      failedVersion: undefined,
      building: Promise.resolve(),
    };
  }

  private onFileChange(path: string): void {
    if (path === this.spec.file) {
      // Only the settled file is worth reading: a half-written cortex.yaml is not a mistake.
      clearTimeout(this.respecTimer);
      this.respecTimer = setTimeout(() => this.respec(), settleMs);
      return;
    }
    for (const loop of this.loops.values()) {
      // A new file the predictor does not import yet may be about to be imported: rebuild too.
      const nearby = sourceExtensions.has(extname(path)) && isWithin(dirname(loop.spec.predictor.path), path);
      if (!loop.inputs.has(path) && !nearby) continue;
      const savedAt = (loop.savedAt ??= Date.now());
      clearTimeout(loop.pending);
      loop.pending = setTimeout(() => {
        loop.savedAt = undefined;
        void this.rebuild(loop, savedAt, false);
      }, debounceMs);
      // Costs one incremental build when nothing changed since: an unchanged bundle is not pushed.
      clearTimeout(loop.settle);
      loop.settle = setTimeout(() => void this.rebuild(loop, savedAt, false), settleMs);
    }
  }

  /** Bundles and pushes one api's predictor; a compile or init error leaves the old code serving. */
  private rebuild(loop: ApiLoop, savedAt: number, force: boolean): Promise<void> {
    loop.building = loop.building.then(async () => {
      const name = loop.spec.name;
      let bundle: PredictorBundle;
      try {
        const built = await loop.bundler.build();
        loop.inputs = new Set(built.inputs);
        this.watchOutside(built.inputs);
        bundle = toBundle(built.code, loop.spec);
      } catch (err) {
        const e = err instanceof BuildError ? err : new BuildError((err as Error).message);
        this.failReload(loop, savedAt, e.message, e.location ?? null, force);
        return;
      }
      if (bundle.version === loop.current.version && !force && !loop.lastReload?.error) return;
      if (bundle.version === loop.failedVersion && !force) return;
      const outcome = await this.options.backend.reload(name, bundle);
      const failure = outcome.failed[0];
      if (failure && outcome.ok.length === 0) {
        loop.failedVersion = bundle.version;
        this.failReload(loop, savedAt, failure.error, failure.location ?? null, force);
        return;
      }
      loop.failedVersion = undefined;
      loop.current = bundle;
      loop.updatedAt = new Date();
      loop.lastReload = { version: bundle.version, at: loop.updatedAt.toISOString(), ms: Date.now() - savedAt, error: null };
      this.emit('change');
    });
    // Whatever went wrong, the next save must still rebuild.
    loop.building = loop.building.catch((err: Error) => this.failReload(loop, savedAt, err.message, null));
    return loop.building;
  }

  private failReload(loop: ApiLoop, savedAt: number, message: string, location: string | null, force = false): void {
    // Views print "location: message"; the messages from esbuild and the runtime carry the location already.
    if (location) message = message.replace(`${location}: `, '').replace(` (at ${location})`, '');
    if (location) location = displayLocation(location);
    const previous = loop.lastReload?.error;
    // The second look at a save that still fails the same way is not news.
    if (!force && previous && previous.message === message && previous.location === location) return;
    loop.lastReload = { version: loop.current.version, at: new Date().toISOString(), ms: Date.now() - savedAt, error: { message, location } };
    this.emit('change');
  }

  /** cortex.yaml changed: re-read it and apply it, one change after another. */
  private respec(): void {
    this.respecs = this.respecs.then(() => this.respecNow()).catch((err: Error) => this.note('cortex', 'ERROR', `cortex.yaml not applied: ${err.message}`));
  }

  /** Applies replica counts, config (as a reload), apis added or removed; all or nothing. */
  private async respecNow(): Promise<void> {
    const text = await readFile(this.spec.file, 'utf8').catch(() => undefined);
    if (text !== undefined && text === this.specText) return;
    this.specText = text;
    let spec: Spec;
    try {
      spec = await loadSpec(this.options.dir);
    } catch (err) {
      this.refuseSpec((err as Error).message);
      return;
    }
    // New apis, and apis whose predictor moved, get new loops; nothing changes until all build.
    const staged = new Map<string, ApiLoop>();
    try {
      for (const api of spec.apis) {
        const loop = this.loops.get(api.name);
        if (!loop || loop.spec.predictor.path !== api.predictor.path) staged.set(api.name, await this.buildLoop(api));
      }
    } catch (err) {
      await Promise.all([...staged.values()].map((l) => l.bundler.dispose()));
      this.refuseSpec((err as Error).message);
      return;
    }

    const names = new Set(spec.apis.map((a) => a.name));
    const reloads: Array<{ loop: ApiLoop; force: boolean }> = [];
    for (const [name, loop] of [...this.loops]) {
      if (names.has(name) && !staged.has(name)) continue;
      await loop.bundler.dispose();
      this.loops.delete(name);
      if (!names.has(name)) this.collector.forget(name);
      const moved = staged.get(name);
      if (moved) {
        // Replicas keep the old code until the moved predictor has loaded, like any reload.
        moved.current = loop.current;
        reloads.push({ loop: moved, force: true });
      }
    }
    const bundles = new Map<string, PredictorBundle>();
    for (const api of spec.apis) {
      const loop = staged.get(api.name) ?? this.loops.get(api.name)!;
      const configChanged = JSON.stringify(loop.spec.predictor.config) !== JSON.stringify(api.predictor.config);
      if (configChanged && !staged.has(api.name)) reloads.push({ loop, force: false });
      loop.spec = api;
      this.loops.set(api.name, loop);
      bundles.set(api.name, loop.current);
    }
    this.spec = spec;
    this.specError = null;
    for (const loop of staged.values()) this.watchOutside(loop.inputs);
    await this.options.backend.apply(spec, bundles);
    // A new config is a new predictor version: it goes the way of a save, errors included.
    for (const { loop, force } of reloads) void this.rebuild(loop, Date.now(), force);
    this.note('cortex', 'INFO', `applied cortex.yaml: ${spec.apis.map((a) => `${a.name} (${plural(this.options.backend.requested(a.name), 'replica')})`).join(', ')}`);
    this.emit('change');
  }

  /** A cortex.yaml that cannot be applied: the running one stays, and every view says why until the next good save. */
  private refuseSpec(message: string): void {
    this.specError = { message, at: new Date().toISOString() };
    this.note('cortex', 'ERROR', `cortex.yaml not applied, the previous one stays: ${message}`);
    this.emit('change');
  }

  private async tick(): Promise<void> {
    const backend = this.options.backend;
    const replicas = new Map([...this.loops.keys()].map((name) => [name, backend.replicas(name)]));
    await this.collector.tick(replicas);
    const now = Date.now();
    for (const loop of this.loops.values()) {
      if (now < loop.autoscaler.nextAt) continue;
      const config = loop.spec.autoscaling;
      loop.autoscaler.nextAt = now + decisionEvery(loop.spec);
      const samples = this.collector.inFlightSamples(loop.spec.name).filter((s) => s.at > now - config.windowMs);
      // Like Cortex, no metrics means no decision (rather than a decision on zero load).
      if (samples.length === 0) continue;
      const current = backend.requested(loop.spec.name);
      const decision = autoscale({
        current,
        avgInFlight: averageInFlight(samples, config.windowMs, now),
        history: loop.autoscaler.history,
        startedAt: loop.autoscaler.startedAt,
        now,
        config,
      });
      loop.autoscaler.history = decision.history;
      loop.autoscaler.decision = { decision: decision.reason, at: new Date(now).toISOString() };
      if (decision.request !== current) await backend.scale(loop.spec.name, decision.request);
    }
    this.emit('change');
  }

  private note(api: string, level: string, message: string): void {
    const line: LogLine = { api, replica: 'cortex', time: new Date(), level, message };
    this.emit('log', line);
  }
}

/** Whether `path` is `dir` or anything below it. */
function isWithin(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function toBundle(code: string, api: ApiSpec): PredictorBundle {
  const config = api.predictor.config;
  return { code, config, version: bundleVersion({ code, config }) };
}

/** Cortex decides every 10 s; a shorter window (tests, demos) decides as often as it turns over. */
function decisionEvery(api: ApiSpec): number {
  return Math.max(tickMs, Math.min(10_000, api.autoscaling.windowMs));
}
