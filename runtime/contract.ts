// The predictor contract: what a `predictor.ts` exports and what the runtime hands it.
// Predictors import these as types only (`import type { … } from 'cortex'`), so a bundle
// never carries runtime code of its own.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The request body: parsed JSON, a string for text/plain, raw bytes for image/* or octet-stream. */
export type Sample = JsonValue | Buffer;

export interface Metadata {
  requestId: string;
  contentType: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, string | string[]>;
}

export type TensorType = 'float32' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool' | 'float64';
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Float64Array;

/** A plain tensor that crosses to the inference workers by structured clone. */
export interface Tensor {
  type: TensorType;
  data: TensorData;
  dims: number[];
}

export interface ValueInfo {
  name: string;
  type?: string;
  /** Symbolic dimensions (e.g. "batch_size") are kept as strings. */
  shape?: Array<number | string>;
}

/** An ONNX model loaded into every inference worker; `run` never blocks the event loop. */
export interface Model {
  readonly source: string;
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  /**
   * Runs the model on the next free inference thread. Input arrays that own their whole buffer
   * are moved there, not copied: after the call they are empty, so pass a copy to reuse one.
   */
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
}

export interface ImageTensorOptions {
  /** Side of the square crop fed to the model. Default 224. */
  size?: number;
  /** The shorter side is resized to this before the centre crop. Default 256. */
  resizeShorter?: number;
  /** Per-channel RGB mean and std on the 0..1 scale. Default ImageNet's. */
  mean?: [number, number, number];
  std?: [number, number, number];
}

export interface FetchImageOptions {
  /** Default 16 MiB. */
  maxBytes?: number;
  /** Default 10 s. */
  timeoutMs?: number;
}

export interface Helpers {
  /** Loads an ONNX model from a URL (cached, offline mirror aware) or a path. */
  loadModel(source: string): Promise<Model>;
  /** Loads JSON from a URL (cached, offline mirror aware) or a path. */
  loadJson<T = JsonValue>(source: string): Promise<T>;
  /** Fetches image bytes by http(s) URL; failures become 4xx errors for the caller. */
  fetchImage(url: string, options?: FetchImageOptions): Promise<Buffer>;
  /** Image bytes → normalized NCHW float32 tensor [1, 3, size, size]. */
  imageToTensor(image: Buffer, options?: ImageTensorOptions): Promise<Tensor>;
  /** Indices of the k largest scores, best first. */
  topK(scores: ArrayLike<number>, k: number): Array<{ index: number; score: number }>;
  softmax(logits: ArrayLike<number>): Float32Array;
}

export interface InitContext<Config = Record<string, JsonValue>> {
  /** `predictor.config` from cortex.yaml. */
  config: Config;
  api: { name: string; deployment: string };
  helpers: Helpers;
}

/** What `predict` may return: JSON-serialisable values are sent as JSON, a Buffer as bytes. */
export type Prediction = JsonValue | Buffer | undefined;

/**
 * The module a predictor bundle exports. `predict` may throw an error with a numeric
 * `status` in 400–499 to answer the client with that status instead of a 500.
 */
export interface PredictorModule {
  init?(context: InitContext<any>): unknown;
  predict(sample: Sample, metadata: Metadata): Prediction | Promise<Prediction>;
}
