// `cortex dev`: the local loop. Composes the parts: the project watcher (watcher.ts), one edit
// loop per api (api-loop.ts: bundle on save, push to every replica), cortex.yaml edits
// (spec-changes.ts), the gateway, the metrics collector and autoscaler loop (src/scaling), and
// the snapshot every view reads (src/model/snapshot.ts).
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { SettingsError } from '../../runtime/settings.js';
import type { Backend, PredictorBundle, ReplicaLogLine } from '../model/backend.js';
import { buildSnapshot } from '../model/snapshot.js';
import type { SessionEvents, SessionSnapshot, SessionView } from '../model/status.js';
import { Collector } from '../scaling/collector.js';
import { AutoscalerLoop, tickMs } from '../scaling/loop.js';
import { loadSpec, type Spec } from '../spec/index.js';
import { portInUse, UserError } from '../user-error.js';
import { ApiLoop, type ApiLoopHost } from './api-loop.js';
import { Gateway, gatewayLimitsFrom, type GatewayLimits } from '../gateway/gateway.js';
import { specChanges } from './spec-changes.js';
import { ProjectWatcher, settleMs } from './watcher.js';

export interface DevOptions {
  dir: string;
  port: number;
  backend: Backend;
  /** One line: which backend runs the replicas and why. */
  backendReason: string;
}

export class DevSession extends EventEmitter<SessionEvents> implements SessionView {
  private spec!: Spec;
  private readonly loops = new Map<string, ApiLoop>();
  private readonly collector = new Collector(() => Math.max(...[...this.loops.values()].map((l) => l.spec.autoscaling.windowMs), 60_000));
  /** The session's own autoscaler, unless the backend's replicas are scaled in the cluster. */
  private readonly autoscaler: AutoscalerLoop | undefined;
  /** The session's own gateway, unless the backend serves the apis itself. */
  private readonly gateway: Gateway | undefined;
  private readonly loopHost: ApiLoopHost;
  private gatewayUrl = '';
  private watcher: ProjectWatcher | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date();
  private stopped: Promise<void> | undefined;
  private respecs: Promise<void> = Promise.resolve();
  private respecTimer: NodeJS.Timeout | undefined;
  /** The cortex.yaml text last applied or refused, so a second look at an unchanged file does nothing. */
  private specText: string | undefined;
  private specError: { message: string; at: string } | null = null;
  private ticking = false;
  /** Lines logged until a view takes them (earlyLogs), the newest earlyLogLimit. */
  private early: ReplicaLogLine[] | undefined = [];

  private constructor(private readonly options: DevOptions) {
    super();
    const backend = options.backend;
    const scale = backend.scale?.bind(backend);
    if (scale) this.autoscaler = new AutoscalerLoop({ requested: (api) => backend.requested(api), scale }, this.collector);
    if (!backend.gateway) {
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
    }
    this.loopHost = { backend, inputs: (paths) => this.watcher?.watchOutside(paths), changed: () => this.emit('change') };
    backend.on('replica', () => this.emit('change'));
    backend.on('log', (line) => this.log(line));
  }

  earlyLogs(): ReplicaLogLine[] {
    const lines = this.early ?? [];
    this.early = undefined;
    return lines;
  }

  private log(line: ReplicaLogLine): void {
    if (this.early) {
      this.early.push(line);
      if (this.early.length > earlyLogLimit) this.early.shift();
    }
    this.emit('log', line);
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
      const loop = await ApiLoop.build(api, this.loopHost);
      this.loops.set(api.name, loop);
      this.autoscaler?.track(api);
      bundles.set(api.name, loop.current);
    }
    // The port first: a clash is one line before any replica has started (and loaded a model).
    try {
      this.gatewayUrl = this.gateway ? await this.gateway.listen(this.options.port) : this.options.backend.gateway!;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portInUse(this.options.port);
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
    this.watcher = new ProjectWatcher(this.spec.dir);
    await this.watcher.start((path) => this.onFileChange(path));
    for (const loop of this.loops.values()) this.watcher.watchOutside(loop.inputs);
  }

  snapshot(): SessionSnapshot {
    const backend = this.options.backend;
    return buildSnapshot({
      pid: process.pid,
      dir: this.spec?.dir ?? this.options.dir,
      backend: { name: backend.name, description: this.options.backendReason },
      gateway: this.gatewayUrl,
      startedAt: this.startedAt,
      specError: this.specError,
      apis: [...this.loops.values()].map((loop) => ({
        spec: loop.spec,
        version: loop.current.version,
        lastReload: loop.lastReload,
        update: loop.update,
        updatedAt: loop.updatedAt,
        autoscaler: this.autoscaler ? this.autoscaler.status(loop.spec) : (backend.decision?.(loop.spec.name) ?? null),
        replicas: backend.replicas(loop.spec.name),
        requested: backend.requested(loop.spec.name),
        traffic: this.collector.traffic(loop.spec.name),
      })),
      figures: (id) => this.collector.figures(id),
    });
  }

  async reloadNow(): Promise<void> {
    await Promise.all([...this.loops.values()].map((loop) => loop.rebuild(Date.now(), true)));
  }

  /** Removes one api from the session (`cortex delete`). */
  async deleteApi(name: string): Promise<boolean> {
    const loop = this.loops.get(name);
    if (!loop) return false;
    this.loops.delete(name);
    await this.options.backend.remove(name);
    await loop.dispose();
    this.collector.forget(name);
    this.autoscaler?.forget(name);
    this.note(name, 'INFO', `deleted ${name}; it comes back when cortex.yaml changes or dev restarts`);
    this.emit('change');
    return true;
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      if (this.loops.size > 0) this.note('cortex', 'INFO', 'stopping: replicas finish what they are doing, then exit (a second Ctrl-C exits at once)');
      clearInterval(this.ticker);
      clearTimeout(this.respecTimer);
      for (const loop of this.loops.values()) loop.cancelTimers();
      await this.watcher?.close();
      // No new clients, but requests already through the gateway finish while replicas drain.
      const gatewayStopped = this.gateway?.stopAccepting();
      await this.options.backend.stop();
      await gatewayStopped;
      await this.gateway?.close().catch(() => undefined);
      await Promise.all([...this.loops.values()].map((l) => l.dispose()));
    })();
    return this.stopped;
  }

  /**
   * A second Ctrl-C: every replica is killed rather than drained. Resolves once they are gone,
   * or after `boundMs` with the ids of those still there (a daemon that does not answer).
   */
  async stopNow(boundMs: number): Promise<string[]> {
    let timer: NodeJS.Timeout | undefined;
    // The rest of the stop too (gateway, bundlers): an exit in the middle of it leaves esbuild's
    // service to die of a deadlock, with a page of Go stack on the terminal.
    const stopped = Promise.all([this.options.backend.stop({ now: true }), this.stop()]);
    await Promise.race([stopped, new Promise((resolve) => (timer = setTimeout(resolve, boundMs)))]);
    clearTimeout(timer);
    return [...this.loops.keys()].flatMap((name) => this.options.backend.replicas(name).map((r) => r.id));
  }

  private onFileChange(path: string): void {
    if (path === this.spec.file) {
      // Only the settled file is worth reading: a half-written cortex.yaml is not a mistake.
      clearTimeout(this.respecTimer);
      this.respecTimer = setTimeout(() => this.respec(), settleMs);
      return;
    }
    for (const loop of this.loops.values()) loop.onFileChange(path);
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
    const changes = specChanges(new Map([...this.loops].map(([name, loop]) => [name, loop.spec])), spec);
    // New apis, and apis whose predictor moved, get new loops; nothing changes until all build.
    const staged = new Map<string, ApiLoop>();
    try {
      for (const api of changes.build) staged.set(api.name, await ApiLoop.build(api, this.loopHost));
    } catch (err) {
      await Promise.all([...staged.values()].map((l) => l.dispose()));
      this.refuseSpec((err as Error).message);
      return;
    }

    const reloads: Array<{ loop: ApiLoop; force: boolean }> = [];
    for (const name of changes.removed) {
      await this.loops.get(name)!.dispose();
      this.loops.delete(name);
      this.collector.forget(name);
      this.autoscaler?.forget(name);
    }
    for (const [name, moved] of staged) {
      const old = this.loops.get(name);
      if (!old) continue;
      await old.dispose();
      this.loops.delete(name);
      // Replicas keep the old code until the moved predictor has loaded, like any reload.
      moved.replaces(old);
      reloads.push({ loop: moved, force: true });
    }
    const bundles = new Map<string, PredictorBundle>();
    for (const api of spec.apis) {
      const loop = staged.get(api.name) ?? this.loops.get(api.name)!;
      if (changes.reconfigured.includes(api.name)) reloads.push({ loop, force: false });
      // A new api, or one whose predictor moved, starts its stabilization periods afresh.
      if (staged.has(api.name)) this.autoscaler?.restart(api);
      loop.spec = api;
      this.loops.set(api.name, loop);
      bundles.set(api.name, loop.current);
    }
    this.spec = spec;
    this.specError = null;
    for (const loop of staged.values()) this.watcher?.watchOutside(loop.inputs);
    await this.options.backend.apply(spec, bundles);
    // A new config is a new predictor version: it goes the way of a save, errors included.
    for (const { loop, force } of reloads) void loop.rebuild(Date.now(), force);
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
    await this.autoscaler?.tick([...this.loops.values()].map((l) => l.spec));
    this.emit('change');
  }

  private note(api: string, level: string, message: string): void {
    this.log({ api, replica: 'cortex', time: new Date(), level, message });
  }
}

// A start-up's worth: the first apply's notes and the first replicas' start-up lines.
const earlyLogLimit = 200;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
