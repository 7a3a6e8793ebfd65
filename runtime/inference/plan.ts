// How a replica's inference is laid out: how many inference threads (each with its own session
// of every model), and how many threads onnxruntime may use inside one run, given the execution
// providers asked for and the cores the replica has (CORTEX_INFERENCE_THREADS, `compute.cpu`).
import type { ExecutionProvider } from '../settings.js';
import type { SessionSettings } from './protocol.js';

export interface InferencePlan {
  /** Inference threads in the pool; each holds one session of every model. */
  threads: number;
  session: SessionSettings;
}

/**
 * On the CPU: one thread per core, each session single-threaded inside a run. Requests are
 * independent, so running N of them at once on N cores beats splitting each run over N cores
 * (no synchronisation inside a run), and a slow request holds only its own core.
 *
 * With CUDA first: one thread, so one session per model per process. Every session owns a copy
 * of the weights on the device, its own memory arena and its cuDNN/cuBLAS workspaces; N sessions
 * would hold N copies and N arenas, and their runs would only queue for the same GPU, which
 * already runs one model's kernels as fast as it can: more sessions buy memory pressure, not
 * throughput. Its intra-op threads are few (at most 2), and do not spin: they run only the nodes
 * CUDA cannot take (onnxruntime places them on the CPU), and a pool that spins while the GPU works
 * would take the cores the event loop and image decoding (sharp) need. If CUDA is not there after
 * all, that one session serves on the CPU with every core inside each run.
 */
export function inferencePlan(providers: readonly ExecutionProvider[], cores: number): InferencePlan {
  const n = Math.max(1, Math.floor(cores));
  const executionProviders = [...providers];
  if (providers[0] === 'cuda') return { threads: 1, session: { executionProviders, intraOpThreads: { cuda: Math.min(2, n), cpu: n } } };
  return { threads: n, session: { executionProviders, intraOpThreads: { cuda: 1, cpu: 1 } } };
}
