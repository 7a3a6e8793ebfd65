import type { JsonValue } from '../../runtime/contract.js';

/** A validated cortex.yaml with every Cortex v0.20 default filled in. */
export interface Spec {
  /** Absolute path of the cortex.yaml. */
  file: string;
  /** Absolute path of the folder holding it; predictor paths are relative to it. */
  dir: string;
  deployment: string;
  apis: ApiSpec[];
}

export interface ApiSpec {
  name: string;
  deployment: string;
  predictor: PredictorSpec;
  compute: ComputeSpec;
  autoscaling: AutoscalingSpec;
  updateStrategy: UpdateStrategySpec;
  networking: NetworkingSpec;
}

export interface PredictorSpec {
  /** Absolute path of the predictor module. */
  path: string;
  config: Record<string, JsonValue>;
  env: Record<string, string>;
  /** `server_side_batching`; absent: every `model.run` call runs alone. */
  serverSideBatching?: { maxBatchSize: number; batchIntervalMs: number };
}

export interface ComputeSpec {
  /** Cores. */
  cpu: number;
  /** Bytes; null means no limit. */
  mem: number | null;
  gpu: number;
}

export interface AutoscalingSpec {
  minReplicas: number;
  maxReplicas: number;
  initReplicas: number;
  targetReplicaConcurrency: number;
  maxReplicaConcurrency: number;
  windowMs: number;
  downscaleStabilizationMs: number;
  upscaleStabilizationMs: number;
  maxDownscaleFactor: number;
  maxUpscaleFactor: number;
  downscaleTolerance: number;
  upscaleTolerance: number;
}

export interface UpdateStrategySpec {
  /** A replica count, or a percentage string such as "25%". */
  maxSurge: number | string;
  maxUnavailable: number | string;
}

export interface NetworkingSpec {
  /** Gateway path, "/<deployment>/<api>" unless set. */
  endpoint: string;
}
