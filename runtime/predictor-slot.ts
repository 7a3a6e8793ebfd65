// The predictor a replica is serving, and the hot swap: a new bundle is imported and
// initialised beside the current one and only then takes its place. Requests hold on to the
// predictor they started with, so in-flight work finishes on the old code.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Helpers, InitContext, JsonValue, PredictorModule } from './contract.js';
import { errorMessage } from './http-error.js';

export interface Bundle {
  /** An ESM bundle of the predictor (esbuild output), self-contained. */
  code: string;
  config: Record<string, JsonValue>;
}

export interface LoadedPredictor {
  version: string;
  module: PredictorModule;
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

class LoadTimeout extends Error {}

let loads = 0;

export function bundleVersion(bundle: Bundle): string {
  return createHash('sha256').update(bundle.code).update('\0').update(JSON.stringify(bundle.config)).digest('hex').slice(0, 12);
}

// The runtime's own frames, compiled and (through its source maps) as sources, are never the
// user's: dist/runtime/*.js here, runtime/*.ts two levels up.
const compiledDir = dirname(fileURLToPath(import.meta.url));
const runtimeDirs = [compiledDir, resolve(compiledDir, '../../runtime')].map((d) => d + '/');

/** The first stack frame in the predictor's own sources (source maps map bundle lines back). */
export function userFrame(stack: string | undefined, bundleDir: string): string | undefined {
  for (const line of (stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?[^\s()]+?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.replace(/^file:\/\//, '');
    if (file.startsWith('node:') || file.includes('/node_modules/') || file.startsWith(bundleDir)) continue;
    if (runtimeDirs.some((dir) => file.startsWith(dir))) continue;
    return `${file}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

export interface SlotContext {
  api: InitContext['api'];
  helpers: Helpers;
  /** Where bundles are written so that `import()` can load them. */
  bundleDir: string;
  /** How long loading and `init` may take together; init may be downloading a model. */
  initTimeoutMs: number;
}

export class PredictorSlot extends EventEmitter<{ swap: [LoadedPredictor] }> {
  current: LoadedPredictor | undefined;
  /** Why the latest load failed, until a load succeeds. */
  lastError: BundleError | undefined;
  private queue: Promise<unknown> = Promise.resolve();

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

  private async loadNow(bundle: Bundle): Promise<LoadedPredictor> {
    const version = bundleVersion(bundle);
    const started = performance.now();
    // A load that never finishes would hold the queue, and every later bundle, forever. It
    // cannot be cancelled, only left behind: its module is never made current.
    const { initTimeoutMs } = this.ctx;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LoadTimeout()), initTimeoutMs);
    });
    // Handled here too: the deadline can pass between steps, when nothing races it.
    expired.catch(() => undefined);
    const within = <T>(step: Promise<T>, what: string): Promise<T> =>
      Promise.race([step, expired]).catch((err: unknown) => {
        if (err instanceof LoadTimeout) throw new BundleError(`${what} did not finish within ${initTimeoutMs} ms (CORTEX_INIT_TIMEOUT_MS)`, version);
        throw err;
      });
    try {
      let module: PredictorModule;
      try {
        await mkdir(this.ctx.bundleDir, { recursive: true });
        // A file of its own for every load: a fresh URL gives a fresh module instance even for
        // an unchanged bundle, and no other slot of this process can be writing the same path
        // while this one imports it.
        const file = join(this.ctx.bundleDir, `predictor-${version}-${++loads}.mjs`);
        await writeFile(file, bundle.code);
        try {
          module = await within(import(pathToFileURL(file).href) as Promise<PredictorModule>, "the predictor's top-level code");
        } finally {
          // Read once by the loader, inline source map included; nothing opens it again.
          await rm(file, { force: true });
        }
      } catch (err) {
        if (err instanceof BundleError) throw err;
        throw this.failure('the predictor failed to load', err, version);
      }
      if (typeof module.predict !== 'function') {
        throw new BundleError('the predictor does not export a predict(sample, metadata) function', version);
      }
      if (module.init !== undefined && typeof module.init !== 'function') {
        throw new BundleError('the predictor exports "init", but it is not a function', version);
      }
      try {
        await within(Promise.resolve(module.init?.({ config: bundle.config, api: this.ctx.api, helpers: this.ctx.helpers })), 'init');
      } catch (err) {
        if (err instanceof BundleError) throw err;
        throw this.failure('init failed', err, version);
      }
      const loaded: LoadedPredictor = { version, module, loadedAt: new Date(), initMs: Math.round(performance.now() - started) };
      this.current = loaded;
      this.emit('swap', loaded);
      return loaded;
    } finally {
      clearTimeout(timer);
    }
  }

  private failure(what: string, err: unknown, version: string): BundleError {
    return new BundleError(`${what}: ${errorMessage(err)}`, version, userFrame((err as Error)?.stack, this.ctx.bundleDir));
  }
}
