// PUT /-/predictor — the hot swap the dev loop pushes bundles through. Guarded by the admin
// token (a bearer token, or its own header through a pod proxy); a bundle that fails to load or init is refused with 422 and the old code keeps serving.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http-error.js';
import type { ReplicaMetrics } from '../metrics.js';
import { BundleError, type Bundle, type PredictorSlot } from '../predictor-slot.js';
import { adminTokenHeader, paths, reloadRefusedStatus, type PredictorState, type ReloadAccepted, type ReloadRefused } from '../protocol.js';

export interface AdminOptions {
  slot: PredictorSlot;
  metrics: ReplicaMetrics;
  token: string | undefined;
}

export const bundleLimit = 64 * 1024 * 1024;

/** Compared in constant time, so the answer's timing tells nothing of the token. */
export function sameToken(given: string, expected: string): boolean {
  const [a, b] = [Buffer.from(given), Buffer.from(expected)];
  return a.length === b.length && timingSafeEqual(a, b);
}

export default async function admin(app: FastifyInstance, { slot, metrics, token }: AdminOptions) {
  app.addHook('onRequest', async (request) => {
    if (!token) throw new HttpError(403, 'hot swap is disabled on this replica (no admin token configured)');
    const header = request.headers[adminTokenHeader];
    const given = (typeof header === 'string' ? header : undefined) ?? /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!given || !sameToken(given, token)) throw new HttpError(401, `a valid "Authorization: Bearer <token>" or "${adminTokenHeader}: <token>" header is required`);
  });

  app.get(paths.predictor, async (): Promise<PredictorState> => {
    const current = slot.current;
    return current ? { version: current.version, loaded_at: current.loadedAt.toISOString(), init_ms: current.initMs } : { version: null };
  });

  app.put<{ Body: Partial<Bundle> }>(paths.predictor, { bodyLimit: bundleLimit }, async (request, reply) => {
    const { code, config = {} } = request.body ?? {};
    if (typeof code !== 'string' || typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw new HttpError(400, 'the body must be JSON {"code": "<esm bundle>", "config": {…}}');
    }
    try {
      const loaded = await slot.load({ code, config });
      metrics.reloads.inc({ result: 'ok' });
      request.log.info({ version: loaded.version, initMs: loaded.initMs }, 'predictor swapped');
      return { version: loaded.version, init_ms: loaded.initMs } satisfies ReloadAccepted;
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      metrics.reloads.inc({ result: 'error' });
      request.log.warn({ version: err.version }, err.message);
      return reply.code(reloadRefusedStatus).send({ error: err.message, version: err.version, location: err.location ?? null, request_id: request.id } satisfies ReloadRefused);
    }
  });
}
