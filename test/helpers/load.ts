// Load from another thread, so the process being measured is not also the one generating load.
import { Worker } from 'node:worker_threads';

export interface LoadResult {
  ok: number;
  failed: string[];
}

export interface Load {
  stop(): Promise<LoadResult>;
}

/** `concurrency` clients posting `bodies` in turn, each sending its next request when the last one answers. */
export function startLoad(url: string, bodies: Array<Buffer | string>, type: string, concurrency: number): Load {
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: { url, bodies, type, concurrency } });
  return {
    stop: () =>
      new Promise<LoadResult>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}
