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
  /** One run per item, or one batched run of all of them (batch.ts); every item gets its own result. */
  | { id: number; op: 'run'; key: string; items: Array<Record<string, Tensor>> }
  | { id: number; op: 'close' };

export type WorkerReply =
  | { id: number; ok: true; info?: ModelInfo; results?: ItemResult[]; runs?: number[] }
  | { id: number; ok: false; error: string };

/** What one `model.run` call of a batch got: its own outputs, or its own error. */
export type ItemResult = { ok: true; outputs: Record<string, Tensor> } | { ok: false; error: string };

/** Where a session runs: what /readyz says of a model, less what the main thread knows itself. */
export type Placement = Pick<LoadedModel, 'provider' | 'nodes' | 'fallback'>;

export interface ModelInfo {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  placement: Placement;
}
