import type { FastifyInstance } from 'fastify';
import type { ReplicaMetrics } from '../metrics.js';

export default async function metricsRoute(app: FastifyInstance, { metrics }: { metrics: ReplicaMetrics }) {
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
