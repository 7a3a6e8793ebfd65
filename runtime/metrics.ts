// The replica's Prometheus metrics. The dev loop's autoscaler and TUI read these same numbers,
// so what a cluster's Prometheus sees and what `cortex dev` shows cannot disagree.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PredictorSlot } from './predictor-slot.js';
import { metricNames, type LoadedModel } from './protocol.js';

export const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

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
