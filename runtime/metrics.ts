// The replica's Prometheus metrics. The dev loop's autoscaler and TUI read these same numbers,
// so what a cluster's Prometheus sees and what `cortex dev` shows cannot disagree.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PredictorSlot } from './predictor-slot.js';
import { metricNames, type LoadedModel } from './protocol.js';

/**
 * Bucket bounds in seconds: 8 a doubling, from 0.25 ms to 65 s (Prometheus's native histograms
 * use the same ratio, 2^(1/8) ≈ 1.09). A quantile read from them lies in the bucket the true one
 * is in, so within 9% of it; the decade buckets before (…, 0.1, 0.25, 0.5, …) read a p99 of
 * 153 ms as 244 ms. 145 bounds, about 8 KB a scrape.
 */
export const latencyBuckets = Array.from({ length: 145 }, (_, k) => Number((0.00025 * 2 ** (k / 8)).toPrecision(3)));

/** Batch sizes: every power of two to 1024 (a run's rows are whole numbers, so 1 is exactly unbatched). */
export const batchBuckets = Array.from({ length: 11 }, (_, k) => 2 ** k);

export class ReplicaMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: metricNames.requests, help: 'Prediction requests by HTTP status', labelNames: ['status'] as const, registers: [this.registry] });
  readonly duration = new Histogram({ name: metricNames.duration, help: 'Prediction request latency', buckets: latencyBuckets, registers: [this.registry] });
  readonly inFlight = new Gauge({ name: metricNames.inFlight, help: 'Predictions being worked on now', registers: [this.registry] });
  readonly abandoned = new Gauge({ name: metricNames.abandoned, help: 'Predictions answered 504 that are still running', registers: [this.registry] });
  readonly predictor = new Gauge({ name: metricNames.predictor, help: 'The predictor version being served', labelNames: ['version'] as const, registers: [this.registry] });
  readonly reloads = new Counter({ name: metricNames.reloads, help: 'Hot swaps by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly model = new Gauge({
    name: metricNames.model,
    help: 'Loaded models (1 each), by the onnxruntime execution provider that really runs them',
    labelNames: ['model', 'provider'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: metricNames.batchSize,
    help: 'Rows in each inference run, by model (above 1 when server-side batching put calls together)',
    labelNames: ['model'] as const,
    buckets: batchBuckets,
    registers: [this.registry],
  });
  readonly strayErrors = new Counter({
    name: metricNames.strayErrors,
    help: 'Rejections and exceptions no request could catch (in this process), logged instead of crashing it',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor(slot: PredictorSlot, processMetrics: boolean) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
    slot.on('swap', ({ version }) => {
      this.predictor.reset();
      this.predictor.set({ version }, 1);
    });
  }

  modelLoaded({ model, provider }: LoadedModel): void {
    this.model.set({ model, provider }, 1);
  }

  observe(status: number, seconds: number): void {
    this.requests.inc({ status: String(status) });
    this.duration.observe(seconds);
  }
}
