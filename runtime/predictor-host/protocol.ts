// Messages between a replica's main thread and the thread that hosts one predictor version.
// The predictor runs on a thread of its own so that nothing it does (an endless loop,
// process.exit(), a patched global, a stray timer) can reach the server or the code serving.
import type { InitContext, JsonValue, Metadata, Sample, Tensor } from '../contract.js';
import type { AssetSettings } from '../helpers/assets.js';
import type { ModelInfo } from '../inference/protocol.js';

export interface HostData {
  /** The bundle file to import; private to this process (see bundle-dir.ts). */
  file: string;
  /** Stack frames under this folder are the runtime's copy of the bundle, not the user's. */
  bundleDir: string;
  config: Record<string, JsonValue>;
  api: InitContext['api'];
  assets: AssetSettings;
  heartbeatMs: number;
}

/** What a prediction produced: JSON text (serialised on the host), or bytes. */
export type Answer = { kind: 'json'; text: string } | { kind: 'bytes'; data: Uint8Array };

/** A failure with the status the client should see (4xx) or none (500), and where in the user's code. */
export interface Failure {
  message: string;
  status?: number;
  location?: string;
}

export type ToHost =
  | { op: 'predict'; id: number; sample: Sample; metadata: Metadata }
  | { op: 'model-loaded'; id: number; ok: true; key: string; info: Pick<ModelInfo, 'inputs' | 'outputs'> }
  | { op: 'model-ran'; id: number; ok: true; outputs: Record<string, Tensor> }
  | { op: 'model-failed'; id: number; ok: false; error: string };

export type FromHost =
  | { op: 'heartbeat' }
  | { op: 'booted' }
  | { op: 'imported' }
  | { op: 'ready' }
  | { op: 'refused'; failure: Failure }
  | { op: 'answer'; id: number; answer: Answer }
  | { op: 'failed'; id: number; failure: Failure }
  | { op: 'stray'; kind: 'rejection' | 'exception'; message: string; location?: string }
  | { op: 'load-model'; id: number; path: string; source: string }
  | { op: 'run-model'; id: number; key: string; feeds: Record<string, Tensor> };
