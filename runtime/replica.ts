// One replica of one api, as a Fastify plugin: the standalone runtime mounts it at `/`, and
// `cortex serve` mounts one per api at `/<deployment>/<api>` in a single server.
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { removeBundleDir, replicaBundleDir } from './bundle-dir.js';
import { logStray, onStrayError } from './crash-guard.js';
import { inferencePlan } from './inference/plan.js';
import { InferencePool } from './inference/pool.js';
import { describePlacement } from './inference/providers.js';
import { ReplicaMetrics } from './metrics.js';
import admin from './plugins/admin.js';
import content from './plugins/content.js';
import errors from './plugins/errors.js';
import health from './plugins/health.js';
import metricsRoute from './plugins/metrics.js';
import predict from './plugins/predict.js';
import wrongMethod from './plugins/wrong-method.js';
import { PredictorSlot } from './predictor-slot.js';
import type { ReplicaSettings } from './settings.js';

export interface Replica {
  slot: PredictorSlot;
  metrics: ReplicaMetrics;
  plugin: (app: FastifyInstance) => Promise<void>;
  close(): Promise<void>;
}

export function createReplica(settings: ReplicaSettings): Replica {
  const plan = inferencePlan(settings.executionProviders, settings.inferenceThreads);
  const pool = new InferencePool(plan.threads, plan.session, settings.batching);
  const bundleDir = replicaBundleDir(settings.api);
  // Errors a predictor leaves unhandled are logged where the replica logs, once it is mounted.
  let log: FastifyBaseLogger | undefined;
  const slot = new PredictorSlot({
    api: settings.api,
    assets: settings.assets,
    pool,
    bundleDir,
    initTimeoutMs: settings.initTimeoutMs,
    blockedMs: settings.blockedThreadMs,
    // By then every request on the old code has had its answer, if only a 504.
    retireMs: settings.predictTimeoutMs,
    onStray: (kind, failure) => {
      metrics.strayErrors.inc({ kind });
      if (log) logStray(log, kind, failure.message, failure.location);
    },
  });
  const metrics = new ReplicaMetrics(slot, settings.processMetrics);
  // One line a model, when it has loaded: where it runs, and why not where it was asked to.
  pool.on('loaded', (model) => {
    metrics.modelLoaded(model);
    const fields = { model: model.model, provider: model.provider, requested: model.requested, nodes: model.nodes, fallback: model.fallback };
    if (model.fallback) log?.warn(fields, describePlacement(model));
    else log?.info(fields, describePlacement(model));
  });
  pool.on('ran', ({ model, rows }) => metrics.batchSize.observe({ model }, rows));
  const unsubscribe = onStrayError((kind) => metrics.strayErrors.inc({ kind }));

  async function plugin(app: FastifyInstance) {
    log = app.log;
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id);
    });
    await app.register(errors);
    await app.register(content);
    await app.register(health, { slot, models: () => pool.loadedModels });
    await app.register(metricsRoute, { metrics });
    await app.register(admin, { slot, metrics, token: settings.adminToken });
    await app.register(wrongMethod);
    await app.register(predict, { slot, metrics, maxConcurrency: settings.maxConcurrency, timeoutMs: settings.predictTimeoutMs, bodyLimit: settings.bodyLimit });
  }

  return {
    slot,
    metrics,
    plugin,
    close: async () => {
      unsubscribe();
      await slot.close();
      await pool.close();
      await removeBundleDir(await bundleDir);
    },
  };
}
