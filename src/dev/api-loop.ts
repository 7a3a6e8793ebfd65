// One api's edit loop: a save is debounced (and looked at again once it settles), bundled,
// and pushed to the api's replicas through the backend; a compile or init error leaves the old
// code serving and says why. Holds the api's update state (Tilt's updateStatus) for the views.
import { bundleVersion } from '../../runtime/predictor-slot.js';
import { refusedEverywhere, type Backend, type PredictorBundle } from '../model/backend.js';
import type { ReloadSnapshot, UpdateStatus } from '../model/status.js';
import type { ApiSpec } from '../spec/index.js';
import { UserError } from '../user-error.js';
import { BuildError, Bundler, displayLocation } from './bundler.js';
import { debounceMs, isNearbySource, settleMs } from './watcher.js';

export interface ApiLoopHost {
  backend: Pick<Backend, 'reload'>;
  /** Files the bundle was built from, for the watcher to follow. */
  inputs(paths: Iterable<string>): void;
  /** Something a view shows changed. */
  changed(): void;
}

export class ApiLoop {
  /** A bundle every replica refused: not pushed again until it changes or `r` forces it. */
  private failedVersion: string | undefined;
  private building: Promise<void> = Promise.resolve();
  private pending: NodeJS.Timeout | undefined;
  /** The second look after a save; see settleMs. */
  private settle: NodeJS.Timeout | undefined;
  /** When the save that started the pending rebuild happened. */
  private savedAt: number | undefined;
  lastReload: ReloadSnapshot | null = null;
  /** Where the latest change of code is; lastReload says how the last one ended. */
  update: UpdateStatus = 'none';
  /** When the code replicas serve now began serving (a failed reload does not move it). */
  updatedAt = new Date();

  private constructor(
    public spec: ApiSpec,
    private readonly bundler: Bundler,
    public inputs: Set<string>,
    /** The bundle replicas serve (the last one that built and loaded). */
    public current: PredictorBundle,
    private readonly host: ApiLoopHost,
  ) {}

  /** A loop for one api, its first bundle built. */
  static async build(api: ApiSpec, host: ApiLoopHost): Promise<ApiLoop> {
    const bundler = new Bundler(api.predictor.path);
    let built;
    try {
      built = await bundler.build();
    } catch (err) {
      await bundler.dispose();
      throw err instanceof BuildError ? new UserError(err.message) : err;
    }
    return new ApiLoop(api, bundler, new Set(built.inputs), toBundle(built.code, api), host);
  }

  /** Whether a change to `path` concerns this api; if so, a rebuild is on its way. */
  onFileChange(path: string): boolean {
    // A new file the predictor does not import yet may be about to be imported: rebuild too.
    if (!this.inputs.has(path) && !isNearbySource(this.spec.predictor.path, path)) return false;
    const savedAt = (this.savedAt ??= Date.now());
    this.update = 'pending';
    clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.savedAt = undefined;
      void this.rebuild(savedAt, false);
    }, debounceMs);
    // Costs one incremental build when nothing changed since: an unchanged bundle is not pushed.
    clearTimeout(this.settle);
    this.settle = setTimeout(() => void this.rebuild(savedAt, false), settleMs);
    return true;
  }

  /** Bundles and pushes the predictor; a compile or init error leaves the old code serving. */
  rebuild(savedAt: number, force: boolean): Promise<void> {
    this.building = this.building.then(async () => {
      this.update = 'in_progress';
      let bundle: PredictorBundle;
      try {
        const built = await this.bundler.build();
        this.inputs = new Set(built.inputs);
        this.host.inputs(built.inputs);
        bundle = toBundle(built.code, this.spec);
      } catch (err) {
        const e = err instanceof BuildError ? err : new BuildError((err as Error).message);
        this.failReload(savedAt, e.message, e.location ?? null, force);
        return;
      }
      if ((bundle.version === this.current.version && !force && !this.lastReload?.error) || (bundle.version === this.failedVersion && !force)) {
        this.update = this.settled();
        return;
      }
      const outcome = await this.host.backend.reload(this.spec.name, bundle);
      const failure = outcome.failed[0];
      if (failure && refusedEverywhere(outcome)) {
        this.failedVersion = bundle.version;
        this.failReload(savedAt, failure.error, failure.location ?? null, force);
        return;
      }
      this.failedVersion = undefined;
      this.current = bundle;
      this.updatedAt = new Date();
      this.lastReload = { version: bundle.version, at: this.updatedAt.toISOString(), ms: Date.now() - savedAt, error: null };
      this.update = this.settled();
      this.host.changed();
    });
    // Whatever went wrong, the next save must still rebuild.
    this.building = this.building.catch((err: Error) => this.failReload(savedAt, err.message, null));
    return this.building;
  }

  /** Takes over from the loop this one replaces (its predictor moved): replicas keep the old code until the new one loads. */
  replaces(previous: ApiLoop): void {
    this.current = previous.current;
  }

  cancelTimers(): void {
    clearTimeout(this.pending);
    clearTimeout(this.settle);
  }

  async dispose(): Promise<void> {
    this.cancelTimers();
    await this.bundler.dispose();
  }

  private failReload(savedAt: number, message: string, location: string | null, force = false): void {
    // Views print "location: message"; the messages from esbuild and the runtime carry the location already.
    if (location) message = message.replace(`${location}: `, '').replace(` (at ${location})`, '');
    if (location) location = displayLocation(location);
    this.update = 'error';
    const previous = this.lastReload?.error;
    // The second look at a save that still fails the same way is not news.
    if (!force && previous && previous.message === message && previous.location === location) return;
    this.lastReload = { version: this.current.version, at: new Date().toISOString(), ms: Date.now() - savedAt, error: { message, location } };
    this.host.changed();
  }

  /** Nothing on its way: how the last change ended, if there was one. */
  private settled(): UpdateStatus {
    if (!this.lastReload) return 'none';
    return this.lastReload.error ? 'error' : 'ok';
  }
}

function toBundle(code: string, api: ApiSpec): PredictorBundle {
  const config = api.predictor.config;
  return { code, config, version: bundleVersion({ code, config }) };
}
