// Messages between the inference pool (main thread) and its workers.
import type { Tensor, ValueInfo } from '../contract.js';
import type { LoadedModel } from '../protocol.js';
import type { ExecutionProvider } from '../settings.js';

export interface SessionSettings {
  /** In order of preference: a model is served by the first that works (plan.ts). */
  executionProviders: ExecutionProvider[];
  /** Threads ONNX Runtime may use inside one `run`, by the provider the session ends up on. */
  intraOpThreads: Record<ExecutionProvider, number>;
}

export type WorkerRequest =
  | { id: number; op: 'load'; key: string; path: string; settings: SessionSettings }
  | { id: number; op: 'run'; key: string; feeds: Record<string, Tensor> }
  | { id: number; op: 'close' };

export type WorkerReply =
  | { id: number; ok: true; info?: ModelInfo; outputs?: Record<string, Tensor> }
  | { id: number; ok: false; error: string };

/** Where a session runs: what /readyz says of a model, less what the main thread knows itself. */
export type Placement = Pick<LoadedModel, 'provider' | 'nodes' | 'fallback'>;

export interface ModelInfo {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  placement: Placement;
}
