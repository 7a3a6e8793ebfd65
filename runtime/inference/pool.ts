// A fixed set of inference threads. Every model is loaded into every thread, and each `run`
// goes to the next idle thread, so a replica runs as many inferences at once as it has threads
// while its event loop stays free for HTTP. How many threads, and on which execution provider,
// is plan.ts's choice.
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Model, Tensor } from '../contract.js';
import type { LoadedModel } from '../protocol.js';
import type { ModelInfo, SessionSettings, WorkerReply, WorkerRequest } from './protocol.js';
import { takeBuffers } from './transfer.js';

type Pending = { resolve: (reply: WorkerReply & { ok: true }) => void; reject: (err: Error) => void };
type Job = { msg: WorkerRequest & { op: 'run' }; transfer: ArrayBuffer[] } & Pending;

interface Slot {
  worker: Worker;
  busy: boolean;
  dead: boolean;
  pending: Map<number, Pending>;
}

const workerUrl = new URL('./worker.js', import.meta.url);

/** A model as a log line, a metric label and /readyz show it: a URL without credentials, query or fragment. */
export function modelName(source: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return source;
  try {
    const url = new URL(source);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return source;
  }
}

export class InferencePool extends EventEmitter<{ loaded: [LoadedModel] }> {
  private readonly slots: Slot[] = [];
  /** Every model loaded, once per file version, with where it runs. */
  private readonly described = new Map<string, LoadedModel>();
  private readonly queue: Job[] = [];
  private readonly models = new Map<string, Promise<Model>>();
  private readonly loaded = new Map<string, string>(); // key → path, replayed into replacement workers
  private nextId = 1;
  private closed = false;
  /** Threads that died since a run last succeeded. */
  private crashes = 0;

  constructor(
    readonly size: number,
    private readonly settings: SessionSettings,
  ) {
    super();
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** The models loaded so far, each with the execution provider that really runs it. */
  get loadedModels(): LoadedModel[] {
    return [...this.described.values()];
  }

  /** Loads (once per file version) and warms a model in every thread; `name` is what the predictor asked for (a URL or a path). */
  load(path: string, name = path): Promise<Model> {
    const { size, mtimeMs } = statSync(path);
    const key = `${path}:${size}:${mtimeMs}`;
    let model = this.models.get(key);
    if (!model) {
      model = this.loadEverywhere(key, path, modelName(name));
      this.models.set(key, model);
      model.catch(() => this.models.delete(key));
    }
    return model;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('inference pool closed'));
    await Promise.all(
      this.slots.map(async (slot) => {
        await this.send(slot, { id: 0, op: 'close' }).catch(() => undefined);
        await slot.worker.terminate();
      }),
    );
  }

  private async loadEverywhere(key: string, path: string, name: string): Promise<Model> {
    const replies = await Promise.all(this.slots.map((slot) => this.send(slot, { id: 0, op: 'load', key, path, settings: this.settings })));
    this.loaded.set(key, path);
    const info = replies[0]!.info as ModelInfo;
    // Every thread tries the same providers on the same machine: the first speaks for all.
    const { provider, nodes, fallback } = info.placement;
    const described: LoadedModel = { model: name, provider, requested: [...this.settings.executionProviders], ...(nodes ? { nodes } : {}), ...(fallback ? { fallback } : {}) };
    this.described.set(key, described);
    this.emit('loaded', described);
    return {
      source: path,
      inputs: info.inputs,
      outputs: info.outputs,
      run: (feeds) => this.run(key, feeds),
    };
  }

  private run(key: string, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (this.closed) return Promise.reject(new Error('inference pool closed'));
    let transfer: ArrayBuffer[];
    try {
      transfer = takeBuffers(feeds);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ msg: { id: 0, op: 'run', key, feeds }, transfer, resolve: (r) => resolve(r.outputs ?? {}), reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy || slot.dead) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.busy = true;
      this.send(slot, job.msg, job.transfer)
        .then((reply) => {
          this.crashes = 0;
          job.resolve(reply);
        }, job.reject)
        .finally(() => {
          slot.busy = false;
          this.dispatch();
        });
    }
  }

  private send(slot: Slot, msg: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply & { ok: true }> {
    const id = this.nextId++;
    if (slot.dead) return Promise.reject(new Error('inference thread is restarting'));
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  private spawn(): Slot {
    const worker = new Worker(workerUrl);
    const slot: Slot = { worker, busy: false, dead: false, pending: new Map() };
    worker.on('message', (reply: WorkerReply) => {
      const p = slot.pending.get(reply.id);
      if (!p) return;
      slot.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply);
      else p.reject(new Error(reply.error));
    });
    // A thread that dies takes only its own requests with it; a fresh one takes its place.
    worker.on('exit', (code) => {
      for (const p of slot.pending.values()) p.reject(new Error(`inference thread exited (code ${code})`));
      slot.pending.clear();
      if (this.closed) return;
      // The dead slot takes no work; its replacement comes after a delay that grows while
      // threads keep dying, so a thread that cannot start does not spin the CPU.
      slot.dead = true;
      const delay = Math.min(30_000, 100 * 2 ** this.crashes++);
      setTimeout(() => {
        if (this.closed) return;
        const fresh = this.spawn();
        this.slots[this.slots.indexOf(slot)] = fresh;
        for (const [key, path] of this.loaded) void this.send(fresh, { id: 0, op: 'load', key, path, settings: this.settings }).catch(() => undefined);
        this.dispatch();
      }, delay).unref();
    });
    worker.on('error', () => undefined); // reported through 'exit'
    return slot;
  }
}
