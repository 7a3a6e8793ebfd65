// A fixed set of inference threads. Every model is loaded into every thread, and each `run`
// goes to the next idle thread, so a replica runs as many inferences at once as it has threads
// while its event loop stays free for HTTP. How many threads, and on which execution provider,
// is plan.ts's choice. With server-side batching, concurrent runs of one model wait (at most
// the batch interval) to share one run on the next idle thread, as Triton's dynamic batcher does;
// on the CPU a free thread never waits for a batch (see `patientOn`).
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Model, Tensor } from '../contract.js';
import type { LoadedModel } from '../protocol.js';
import type { ExecutionProvider } from '../settings.js';
import { rowsOf, unbatchable } from './batch.js';
import type { ModelInfo, SessionSettings, WorkerReply, WorkerRequest } from './protocol.js';
import { takeBuffers } from './transfer.js';

type Pending = { resolve: (reply: WorkerReply & { ok: true }) => void; reject: (err: Error) => void };
/** One `model.run` call waiting for a thread. */
type Job = {
  key: string;
  feeds: Record<string, Tensor>;
  transfer: ArrayBuffer[];
  /** Its first dimension: what it adds to a batch. */
  rows: number;
  queuedAt: number;
  resolve: (outputs: Record<string, Tensor>) => void;
  reject: (err: Error) => void;
};

/** `predictor.server_side_batching`: at most `maxBatchSize` rows a run, a call waiting at most `intervalMs` for others. */
export interface BatchSettings {
  maxBatchSize: number;
  intervalMs: number;
}

/**
 * The providers on which a free thread holds a batch back for the interval. On a GPU a run of
 * eight costs about what a run of one does, so waiting fills batches that pay for the wait. On
 * the CPU a batched row of the int8 example is only 4% cheaper (2.93–3.0 against 3.07 ms), and a
 * core left idle for a 2 ms interval cost 4–5% of served throughput at c=4: there a free thread
 * takes what is queued at once, and batches form from the calls that queue while every thread is
 * busy (what `batch_interval: 0` does everywhere).
 */
export const patientOn: ReadonlySet<ExecutionProvider> = new Set(['cuda']);

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

export class InferencePool extends EventEmitter<{ loaded: [LoadedModel]; ran: [{ model: string; rows: number }] }> {
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
  /** Names of the models by key, for the batch-size metric. */
  private readonly names = new Map<string, string>();
  /** Predictions in flight on this replica (track()), and calls now running on a thread: what can still join a batch. */
  private predictions = 0;
  private running = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly size: number,
    private readonly settings: SessionSettings,
    readonly batching?: BatchSettings,
    private readonly patient: ReadonlySet<string> = patientOn,
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

  /**
   * Counts `work` (a prediction) as in flight until it settles. A batch that is not full waits
   * for more calls only while some prediction in flight has not yet called `run`: when every one
   * is already queued or running, nothing else can join, so a lone request never waits.
   */
  track<T>(work: Promise<T>): Promise<T> {
    this.predictions++;
    const done = () => {
      this.predictions--;
      if (this.queue.length) this.dispatch();
    };
    work.then(done, done);
    return work;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
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
    const info = replies[0]!.info as ModelInfo;
    if (this.batching && this.batching.maxBatchSize > 1) {
      const why = unbatchable(name, info.inputs, info.outputs);
      if (why) throw new Error(why);
    }
    this.loaded.set(key, path);
    this.names.set(key, name);
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
    // A call whose inputs disagree on their first dimension cannot share a run: it counts as a full batch.
    const rows = rowsOf(feeds) ?? Infinity;
    return new Promise((resolve, reject) => {
      this.queue.push({ key, feeds, transfer, rows, queuedAt: performance.now(), resolve, reject });
      this.dispatch();
    });
  }

  /**
   * The calls the next idle thread takes: the oldest, and with batching the calls of the same
   * model behind it, up to max_batch_size rows and this thread's share of what is queued, once
   * max_batch_size rows are queued, the oldest call has waited the batch interval, or no
   * prediction in flight is left to add to them. Undefined: wait.
   */
  private nextBatch(now: number): Job[] | undefined {
    const head = this.queue[0];
    if (!head) return undefined;
    const max = this.batching?.maxBatchSize ?? 1;
    if (max <= 1 || head.rows >= max) return this.queue.splice(0, 1);
    // What is queued is shared out among the threads: one thread taking all of it would leave
    // the others idle while its batch runs (on the CPU a batched run is only ~10% cheaper a row).
    let queued = 0;
    for (const job of this.queue) if (job.key === head.key) queued += Math.min(job.rows, max);
    const threads = this.slots.filter((s) => !s.dead).length || 1;
    const share = Math.min(max, Math.max(head.rows, Math.ceil(queued / threads)));
    const picked: number[] = [];
    let rows = 0;
    for (let i = 0; i < this.queue.length && rows < share; i++) {
      const job = this.queue[i]!;
      if (job.key !== head.key || rows + job.rows > share) continue;
      picked.push(i);
      rows += job.rows;
    }
    const full = queued >= max;
    const waited = now - head.queuedAt >= this.batching!.intervalMs;
    const nobodyElse = this.predictions <= this.queue.length + this.running;
    const waits = this.patient.has(this.described.get(head.key)?.provider ?? 'cpu');
    if (waits && !full && !waited && !nobodyElse) return undefined;
    const jobs = picked.map((i) => this.queue[i]!);
    for (let k = picked.length - 1; k >= 0; k--) this.queue.splice(picked[k]!, 1);
    return jobs;
  }

  private dispatch(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const slot of this.slots) {
      if (slot.busy || slot.dead) continue;
      const jobs = this.nextBatch(performance.now());
      if (!jobs) break;
      slot.busy = true;
      this.running += jobs.length;
      const key = jobs[0]!.key;
      const msg: WorkerRequest = { id: 0, op: 'run', key, items: jobs.map((j) => j.feeds) };
      this.send(slot, msg, jobs.flatMap((j) => j.transfer))
        .then(
          (reply) => {
            this.crashes = 0;
            const model = this.names.get(key) ?? key;
            for (const rows of reply.runs ?? []) this.emit('ran', { model, rows });
            jobs.forEach((job, i) => {
              const result = reply.results?.[i];
              if (result?.ok) job.resolve(result.outputs);
              else job.reject(new Error(result?.error ?? 'the inference thread gave no result'));
            });
          },
          (err: Error) => jobs.forEach((job) => job.reject(err)),
        )
        .finally(() => {
          slot.busy = false;
          this.running -= jobs.length;
          this.dispatch();
        });
    }
    // A batch left waiting runs when its oldest call has waited the interval, whatever else happens.
    const head = this.queue[0];
    if (head && this.batching && !this.closed && this.slots.some((s) => !s.busy && !s.dead)) {
      const wait = Math.max(0, head.queuedAt + this.batching.intervalMs - performance.now());
      this.timer = setTimeout(() => this.dispatch(), wait);
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
