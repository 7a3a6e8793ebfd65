// Load from another thread, so the process being measured is not also the one generating load.
import { Worker } from 'node:worker_threads';

export interface LoadResult {
  ok: number;
  failed: string[];
}

export interface Load {
  stop(): Promise<LoadResult>;
}

/**
 * `concurrency` clients posting `bodies` in turn, each sending its next request when the last one
 * answers. The clients' thread runs at low priority so that it does not starve a process whose
 * latency is measured; `niced: false` where the load itself is what is tested (an autoscaler
 * must see it in full even when the machine is busy). stop() may be called again, as from a
 * `finally`, so that a failed test does not leave the load running against a session it quits.
 */
export function startLoad(url: string, bodies: Array<Buffer | string>, type: string, concurrency: number, options: { niced?: boolean } = {}): Load {
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: { url, bodies, type, concurrency, niced: options.niced ?? true } });
  let stopped: Promise<LoadResult> | undefined;
  return {
    stop: () =>
      (stopped ??= new Promise<LoadResult>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage('stop');
      })),
  };
}
