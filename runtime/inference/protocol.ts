// Messages between the inference pool (main thread) and its workers.
import type { Tensor, ValueInfo } from '../contract.js';

export interface SessionSettings {
  /** Threads ONNX Runtime may use inside one `run`; the pool supplies the parallelism. */
  intraOpThreads: number;
  executionProviders: string[];
}

export type WorkerRequest =
  | { id: number; op: 'load'; key: string; path: string; settings: SessionSettings }
  | { id: number; op: 'run'; key: string; feeds: Record<string, Tensor> }
  | { id: number; op: 'close' };

export type WorkerReply =
  | { id: number; ok: true; info?: ModelInfo; outputs?: Record<string, Tensor> }
  | { id: number; ok: false; error: string };

export interface ModelInfo {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}
