import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's CPU priority (on Linux setpriority on pid 0 is per thread): when
 * CPU is short, the server's event loop (HTTP, health checks) runs first and the work of this
 * thread (inference, a predictor) takes what is left, which is most of it.
 */
export function yieldToTheServer(): void {
  try {
    setPriority(0, 10);
  } catch {
    // not permitted here: run at normal priority
  }
}
