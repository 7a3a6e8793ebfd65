// POST / — one prediction. Admission (max_replica_concurrency → 503), the predict timeout
// (→ 504), the reply encoding and the request metrics all live here.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metadata, Prediction, Sample } from '../contract.js';
import { clientStatus, errorMessage, HttpError } from '../http-error.js';
import type { ReplicaMetrics } from '../metrics.js';
import { userFrame, type PredictorSlot } from '../predictor-slot.js';

export interface PredictOptions {
  slot: PredictorSlot;
  metrics: ReplicaMetrics;
  maxConcurrency: number;
  timeoutMs: number;
  bodyLimit: number;
  bundleDir: string;
}

class Timeout extends Error {}

export default async function predict(app: FastifyInstance, opts: PredictOptions) {
  const { slot, metrics, maxConcurrency, timeoutMs } = opts;
  let inFlight = 0;
  // A prediction that outlives its 504 still occupies the replica until it settles.
  const running = new WeakMap<FastifyRequest, Promise<unknown>>();

  const leave = () => metrics.inFlight.set(--inFlight);

  app.addHook('onRequest', async (request, reply) => {
    if (inFlight >= maxConcurrency) {
      reply.header('retry-after', '1');
      throw new HttpError(503, `the replica is at max_replica_concurrency (${maxConcurrency} in flight); retry shortly`);
    }
    metrics.inFlight.set(++inFlight);
    reply.raw.once('close', () => {
      const work = running.get(request);
      if (work) void work.then(leave, leave);
      else leave();
    });
  });

  app.addHook('onResponse', async (_request, reply) => {
    metrics.observe(reply.statusCode, reply.elapsedTime / 1000);
  });

  app.post('/', { bodyLimit: opts.bodyLimit }, async (request: FastifyRequest, reply: FastifyReply) => {
    const predictor = slot.current;
    if (!predictor) throw new HttpError(503, 'the predictor is still loading');
    if (request.body === undefined || request.body === null) {
      throw new HttpError(400, 'the request has no body; send JSON, text, or image bytes');
    }
    const metadata: Metadata = {
      requestId: request.id,
      contentType: request.headers['content-type'],
      headers: request.headers,
      query: request.query as Metadata['query'],
    };
    const work = Promise.resolve().then(() => predictor.module.predict(request.body as Sample, metadata));
    running.set(request, work);

    let result: Prediction;
    let timer: NodeJS.Timeout | undefined;
    try {
      result = await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Timeout()), timeoutMs);
        }),
      ]);
    } catch (err) {
      if (err instanceof Timeout) throw new HttpError(504, `the prediction took longer than ${timeoutMs} ms`);
      const status = clientStatus(err);
      if (status) throw new HttpError(status, errorMessage(err));
      const at = userFrame((err as Error)?.stack, opts.bundleDir);
      throw new Error(`predict failed: ${errorMessage(err)}${at ? ` (at ${at})` : ''}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }

    if (Buffer.isBuffer(result)) return reply.type('application/octet-stream').send(result);
    let json: string;
    try {
      json = JSON.stringify(result ?? null);
    } catch (err) {
      throw new Error(`the prediction is not JSON-serialisable: ${errorMessage(err)}`);
    }
    return reply.type('application/json; charset=utf-8').send(json);
  });
}
