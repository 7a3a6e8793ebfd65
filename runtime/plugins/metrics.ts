import type { FastifyInstance } from 'fastify';
import type { ReplicaMetrics } from '../metrics.js';
import { paths } from '../protocol.js';

// Prometheus text for scrapers; the same numbers as JSON for the dev loop, which would
// otherwise have to parse the text format.
export default async function metricsRoute(app: FastifyInstance, { metrics }: { metrics: ReplicaMetrics }) {
  app.get(paths.metrics, async (request, reply) => {
    if (request.headers.accept?.includes('application/json')) return metrics.registry.getMetricsAsJSON();
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
