// POST / — one prediction. Admission (max_replica_concurrency → 503), the predict timeout
// (→ 504), the reply encoding and the request metrics all live here.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metadata, Sample } from '../contract.js';
import { HttpError } from '../http-error.js';
import type { ReplicaMetrics } from '../metrics.js';
import { PredictionFailure } from '../predictor-host/host.js';
import type { Answer } from '../predictor-host/protocol.js';
import type { PredictorSlot } from '../predictor-slot.js';

export interface PredictOptions {
  slot: PredictorSlot;
  metrics: ReplicaMetrics;
  maxConcurrency: number;
  timeoutMs: number;
  bodyLimit: number;
}

const timedOut = Symbol('timed out');
const ignore = () => undefined;

export default async function predict(app: FastifyInstance, opts: PredictOptions) {
  const { slot, metrics, maxConcurrency, timeoutMs } = opts;
  let inFlight = 0;
  let abandoned = 0;
  // A request holds its admission slot until its response has gone and its prediction has
  // settled or timed out, whichever comes first. The slot must not wait for a prediction past
  // its 504: one that never settles would hold it forever, and a few of them would wedge the
  // replica at 503 while showing the autoscaler load that is not there.
  const released = new WeakMap<FastifyRequest, Promise<void>>();

  const leave = () => metrics.inFlight.set(--inFlight);

  /** JavaScript cannot cancel the prediction behind a 504: count it until it settles, if ever. */
  function abandon(request: FastifyRequest, work: Promise<unknown>) {
    metrics.abandoned.set(++abandoned);
    request.log.warn(`prediction ${request.id} is still running after its 504 (${abandoned} abandoned predictions running)`);
    const since = performance.now();
    const settled = () => {
      metrics.abandoned.set(--abandoned);
      request.log.info(`abandoned prediction ${request.id} settled ${Math.round(performance.now() - since)} ms after its 504`);
    };
    void work.then(settled, settled);
  }

  // Admitted once the body is in, not when the headers are: a client that never finishes its
  // body (Node's parser answers it 408 after CORTEX_BODY_TIMEOUT_MS) never holds a slot.
  // Bodies still arriving are not bounded in number on purpose: that bound would be a wall
  // slow clients could hold again, while each is at most bodyLimit and lives at most the body
  // timeout, so together they hold only what clients really send in that time.
  app.addHook('preValidation', async (request, reply) => {
    if (inFlight >= maxConcurrency) {
      reply.header('retry-after', '1');
      throw new HttpError(503, `the replica is at max_replica_concurrency (${maxConcurrency} in flight); retry shortly`);
    }
    metrics.inFlight.set(++inFlight);
    reply.raw.once('close', () => {
      const release = released.get(request);
      if (release) void release.then(leave);
      else leave();
    });
  });

  app.addHook('onResponse', async (_request, reply) => {
    metrics.observe(reply.statusCode, reply.elapsedTime / 1000);
  });

  app.post('/', { bodyLimit: opts.bodyLimit }, async (request: FastifyRequest, reply: FastifyReply) => {
    const predictor = slot.current;
    if (!predictor) {
      reply.header('retry-after', '1');
      throw new HttpError(503, slot.lastError ? `no predictor is serving: ${slot.lastError.message}` : 'the predictor is still loading');
    }
    // A JSON `null` is a body like any other; only no body at all is refused.
    if (request.body === undefined) {
      throw new HttpError(400, 'the request has no body; send JSON, text, or image bytes');
    }
    const metadata: Metadata = {
      requestId: request.id,
      contentType: request.headers['content-type'],
      headers: request.headers,
      query: request.query as Metadata['query'],
    };
    const work = predictor.host.predict(request.body as Sample, metadata);
    let timer: NodeJS.Timeout | undefined;
    const outcome = Promise.race([work, new Promise<typeof timedOut>((resolve) => (timer = setTimeout(resolve, timeoutMs, timedOut)))]);
    released.set(request, outcome.then(ignore, ignore));

    let result: Answer | typeof timedOut;
    try {
      result = await outcome;
    } catch (err) {
      if (!(err instanceof PredictionFailure)) throw err;
      if (err.status) throw new HttpError(err.status, err.message);
      throw new Error(`predict failed: ${err.message}${err.location ? ` (at ${err.location})` : ''}`);
    } finally {
      clearTimeout(timer);
    }
    if (result === timedOut) {
      abandon(request, work);
      throw new HttpError(504, `the prediction took longer than ${timeoutMs} ms`);
    }

    if (result.kind === 'bytes') return reply.type('application/octet-stream').send(Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength));
    return reply.type('application/json; charset=utf-8').send(result.text);
  });
}
