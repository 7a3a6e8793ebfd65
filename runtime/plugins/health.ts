// Liveness answers as long as the event loop turns; readiness waits for a predictor that has
// finished init and warm-up. While the server drains, Fastify itself answers 503.
import type { FastifyInstance } from 'fastify';
import type { PredictorSlot } from '../predictor-slot.js';
import { paths, stillLoading, type LoadedModel, type NotReady, type Ready } from '../protocol.js';

export default async function health(app: FastifyInstance, { slot, models }: { slot: PredictorSlot; models: () => LoadedModel[] }) {
  app.get(paths.live, async () => ({ ok: true }));
  app.get(paths.ready, async (_request, reply) => {
    const current = slot.current;
    if (!current) return reply.code(503).send({ ready: false, error: slot.lastError?.message ?? stillLoading } satisfies NotReady);
    return { ready: true, version: current.version, loaded_at: current.loadedAt.toISOString(), models: models() } satisfies Ready;
  });
}
