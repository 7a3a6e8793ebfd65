// The predictor a replica is serving, and the hot swap: a new bundle is started on a thread of
// its own beside the current one and only then takes its place. Requests hold on to the host
// they started with, so in-flight work finishes on the old code; the old thread then ends,
// and with it everything the old code left behind.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InitContext, JsonValue } from './contract.js';
import type { AssetSettings } from './helpers/assets.js';
import type { InferencePool } from './inference/pool.js';
import { PredictorHost } from './predictor-host/host.js';
import type { Failure } from './predictor-host/protocol.js';

export interface Bundle {
  /** An ESM bundle of the predictor (esbuild output), self-contained. */
  code: string;
  config: Record<string, JsonValue>;
}

export interface LoadedPredictor {
  version: string;
  host: PredictorHost;
  loadedAt: Date;
  initMs: number;
}

/** A bundle that could not be loaded: its message, and where in the user's code it failed. */
export class BundleError extends Error {
  constructor(
    message: string,
    readonly version: string,
    readonly location?: string,
  ) {
    super(location ? `${message} (at ${location})` : message);
    this.name = 'BundleError';
  }
}

let loads = 0;

export function bundleVersion(bundle: Bundle): string {
  return createHash('sha256').update(bundle.code).update('\0').update(JSON.stringify(bundle.config)).digest('hex').slice(0, 12);
}

export interface SlotContext {
  api: InitContext['api'];
  assets: AssetSettings;
  pool: InferencePool;
  /** This replica's private folder (bundle-dir.ts), where bundles are written for `import()`. */
  bundleDir: Promise<string>;
  /** How long loading and `init` may take together; init may be downloading a model. */
  initTimeoutMs: number;
  /** A predictor thread silent this long is stuck in synchronous code. */
  blockedMs: number;
  /** How long a replaced predictor may finish its in-flight requests. */
  retireMs: number;
  onStray(kind: 'rejection' | 'exception', failure: Failure): void;
}

export class PredictorSlot extends EventEmitter<{ swap: [LoadedPredictor]; lost: [string] }> {
  current: LoadedPredictor | undefined;
  /** Why the latest load failed, until a load succeeds. */
  lastError: BundleError | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Replaced predictors still finishing their requests. */
  private readonly retiring = new Set<PredictorHost>();

  constructor(private readonly ctx: SlotContext) {
    super();
  }

  /** Loads and initialises `bundle`, then makes it current; on failure the current one stays. */
  load(bundle: Bundle): Promise<LoadedPredictor> {
    const next = this.queue.then(() =>
      this.loadNow(bundle).then(
        (loaded) => {
          this.lastError = undefined;
          return loaded;
        },
        (err: BundleError) => {
          this.lastError = err;
          throw err;
        },
      ),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Ends the current predictor's thread; no load starts after this. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const current = this.current;
    this.current = undefined;
    await Promise.all([current?.host, ...this.retiring].map((host) => host?.terminate()));
  }

  private async loadNow(bundle: Bundle): Promise<LoadedPredictor> {
    const version = bundleVersion(bundle);
    if (this.closed) throw new BundleError('the replica is shutting down', version);
    const started = performance.now();
    const bundleDir = await this.ctx.bundleDir;
    // A file of its own for every load: no other load of this process can be writing the same
    // path while a thread imports it.
    const file = join(bundleDir, `predictor-${version}-${++loads}.mjs`);
    let host: PredictorHost;
    try {
      await writeFile(file, bundle.code, { mode: 0o600 });
      host = await PredictorHost.start({ ...this.ctx, file, code: bundle.code, bundleDir, config: bundle.config });
    } catch (err) {
      const failure = err as Partial<Failure>;
      throw new BundleError(failure.message ?? String(err), version, failure.location);
    } finally {
      // Read once by the thread's loader, inline source map included; nothing opens it again.
      await rm(file, { force: true });
    }
    const loaded: LoadedPredictor = { version, host, loadedAt: new Date(), initMs: Math.round(performance.now() - started) };
    const previous = this.current;
    this.current = loaded;
    // A predictor thread that exits while serving (process.exit() in predict) is started again
    // from the same bundle; until then the replica is not ready and says why.
    host.once('exit', (why) => {
      if (this.current !== loaded || this.closed) return;
      this.current = undefined;
      this.lastError = new BundleError(`${why}; starting it again`, version);
      this.emit('lost', why);
      this.load(bundle).catch(() => undefined);
    });
    this.emit('swap', loaded);
    if (previous) {
      this.retiring.add(previous.host);
      void previous.host.retire(this.ctx.retireMs).finally(() => this.retiring.delete(previous.host));
    }
    return loaded;
  }
}
