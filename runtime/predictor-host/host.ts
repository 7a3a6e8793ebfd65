// The main thread's handle on one predictor thread: start it (import + init, with deadlines the
// thread cannot stop), send it predictions, answer its model calls from the shared inference
// pool, and end it. A thread that hangs or exits takes nothing else with it.
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
// sharp must be loaded by the main thread before any thread that uses it starts: on glibc
// Linux its shared libraries must outlive every such thread.
import 'sharp';
import type { InitContext, JsonValue, Metadata, Model, Sample } from '../contract.js';
import type { AssetSettings } from '../helpers/assets.js';
import { errorMessage } from '../http-error.js';
import type { InferencePool } from '../inference/pool.js';
import type { Answer, Failure, FromHost, HostData, ToHost } from './protocol.js';
import { stuckFrame } from './stuck-frame.js';

export interface HostOptions {
  file: string;
  /** The bundle's code, as written to `file`: its source map tells where a stuck thread is. */
  code: string;
  bundleDir: string;
  config: Record<string, JsonValue>;
  api: InitContext['api'];
  assets: AssetSettings;
  pool: InferencePool;
  /** How long loading and init may take together; init may be downloading a model. */
  initTimeoutMs: number;
  /** A thread that sends no heartbeat for this long is stuck in synchronous code. */
  blockedMs: number;
  onStray(kind: 'rejection' | 'exception', failure: Failure): void;
}

/** A prediction that failed on the predictor's side, with the status the client should see. */
export class PredictionFailure extends Error {
  readonly status: number | undefined;
  readonly location: string | undefined;
  constructor(failure: Failure) {
    super(failure.message);
    this.status = failure.status;
    this.location = failure.location;
  }
}

const threadUrl = new URL('./thread.js', import.meta.url);
const heartbeatMs = 200;
let threads = 0;

export class PredictorHost extends EventEmitter<{ exit: [string] }> {
  private readonly worker: Worker;
  private readonly name = `cortex-predictor-${++threads}`;
  private readonly pending = new Map<number, { resolve: (answer: Answer) => void; reject: (err: Error) => void }>();
  private readonly models = new Map<string, Model>();
  private nextId = 1;
  private lastBeat = performance.now();
  private exited: string | undefined;
  private readonly exitedPromise: Promise<void>;

  /** Starts a thread for the bundle in `options.file`; resolves once its init is done. */
  static async start(options: HostOptions): Promise<PredictorHost> {
    const host = new PredictorHost(options);
    try {
      await host.started();
      return host;
    } catch (err) {
      await host.terminate();
      throw err;
    }
  }

  private constructor(private readonly options: HostOptions) {
    super();
    const data: HostData = {
      file: options.file,
      bundleDir: options.bundleDir,
      config: options.config,
      api: options.api,
      assets: options.assets,
      heartbeatMs,
    };
    this.worker = new Worker(threadUrl, { workerData: data, name: this.name });
    this.worker.on('message', (msg: FromHost) => this.onMessage(msg));
    this.worker.on('error', () => undefined); // uncaught errors are reported as strays; an exit follows anything worse
    this.exitedPromise = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.exited = `the predictor's thread exited (code ${code})`;
        for (const p of this.pending.values()) p.reject(new PredictionFailure({ message: this.exited }));
        this.pending.clear();
        this.emit('exit', this.exited);
        resolve();
      });
    });
  }

  /** Predictions sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  predict(sample: Sample, metadata: Metadata): Promise<Answer> {
    if (this.exited) return Promise.reject(new PredictionFailure({ message: this.exited }));
    const id = this.nextId++;
    // The body's bytes are moved, not copied, when they own their buffer (Fastify's parser
    // concatenates chunks into a fresh one; small bodies may share Node's pool and are copied).
    const moves = sample instanceof Uint8Array && sample.byteOffset === 0 && sample.byteLength === sample.buffer.byteLength;
    // The pool counts it, so a batch waits for more calls only while some prediction may still make one.
    return this.options.pool.track(
      new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.post({ op: 'predict', id, sample, metadata }, moves ? [sample.buffer as ArrayBuffer] : []);
      }),
    );
  }

  /** Lets in-flight predictions finish (for at most `graceMs`), then ends the thread. */
  async retire(graceMs: number): Promise<void> {
    const deadline = performance.now() + graceMs;
    while (this.pending.size > 0 && !this.exited && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.terminate();
  }

  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
    await this.exitedPromise;
  }

  private started(): Promise<void> {
    const { initTimeoutMs, blockedMs } = this.options;
    return new Promise<void>((resolve, reject) => {
      // The deadline is the predictor's: it starts once the thread is up and imports the bundle.
      let since = Infinity;
      let phase = "the predictor's top-level code";
      const watch = setInterval(() => {
        // Timers here run whatever the thread does: an endless loop there cannot stop them.
        const silent = performance.now() - this.lastBeat;
        if (silent > blockedMs) {
          clearInterval(watch);
          const message = `${phase} blocked the predictor's thread for ${Math.round(silent)} ms (an endless loop, or long synchronous work?)`;
          void stuckFrame(this.name, pathToFileURL(this.options.file).href, this.options.code).then((location) => finish({ message, ...(location ? { location } : {}) }));
        } else if (performance.now() - since > initTimeoutMs) finish(`${phase} did not finish within ${initTimeoutMs} ms (CORTEX_INIT_TIMEOUT_MS)`);
      }, Math.min(heartbeatMs, initTimeoutMs));
      const onMessage = (msg: FromHost) => {
        if (msg.op === 'booted') {
          since = performance.now();
          this.lastBeat = since;
        } else if (msg.op === 'imported') phase = 'init';
        else if (msg.op === 'ready') finish();
        else if (msg.op === 'refused') finish(msg.failure);
      };
      const onExit = () => finish(`${this.exited} while running ${phase}`);
      let finished = false;
      const finish = (failure?: string | Failure) => {
        if (finished) return;
        finished = true;
        clearInterval(watch);
        this.worker.off('message', onMessage);
        this.off('exit', onExit);
        if (failure === undefined) resolve();
        else reject(typeof failure === 'string' ? { message: failure } : failure);
      };
      this.worker.on('message', onMessage);
      this.once('exit', onExit);
    });
  }

  private post(msg: ToHost, transfer: ArrayBuffer[] = []): void {
    if (!this.exited) this.worker.postMessage(msg, transfer);
  }

  private onMessage(msg: FromHost): void {
    switch (msg.op) {
      case 'heartbeat':
        this.lastBeat = performance.now();
        return;
      case 'answer':
      case 'failed': {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.op === 'answer') p.resolve(msg.answer);
        else p.reject(new PredictionFailure(msg.failure));
        return;
      }
      case 'stray':
        this.options.onStray(msg.kind, msg);
        return;
      case 'load-model':
        // load() checks the file synchronously: keep its throw inside the promise.
        Promise.resolve()
          .then(() => this.options.pool.load(msg.path, msg.source))
          .then(
          (model) => {
            const key = String(this.models.size + 1);
            this.models.set(key, model);
            this.post({ op: 'model-loaded', id: msg.id, ok: true, key, info: { inputs: model.inputs, outputs: model.outputs } });
          },
          (err: unknown) => this.post({ op: 'model-failed', id: msg.id, ok: false, error: errorMessage(err) }),
        );
        return;
      case 'run-model': {
        const model = this.models.get(msg.key);
        if (!model) return this.post({ op: 'model-failed', id: msg.id, ok: false, error: `no model ${msg.key} on this thread` });
        model.run(msg.feeds).then(
          (outputs) => this.post({ op: 'model-ran', id: msg.id, ok: true, outputs }, Object.values(outputs).map((t) => t.data.buffer as ArrayBuffer)),
          (err: unknown) => this.post({ op: 'model-failed', id: msg.id, ok: false, error: errorMessage(err) }),
        );
        return;
      }
      default:
        return;
    }
  }
}
