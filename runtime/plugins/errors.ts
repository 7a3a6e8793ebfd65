// Every error leaves as JSON `{"error": …, "request_id": …}` with a status that says whose
// fault it was; nothing a client sends can take the server down.
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { clientStatus, errorMessage, HttpError } from '../http-error.js';

function describe(err: FastifyError, request: FastifyRequest): string {
  // Each route has its own limit (8 MiB for a prediction, 64 MiB for a bundle).
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return `request body is larger than the limit of ${request.routeOptions.bodyLimit} bytes`;
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return `${err.message}; send application/json, text/plain, image/* or application/octet-stream`;
  }
  return errorMessage(err);
}

export default fp(async function errors(app: FastifyInstance) {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err instanceof HttpError ? err.status : clientStatus(err) ?? (typeof err.statusCode === 'number' && err.statusCode >= 500 ? err.statusCode : 500);
    // A refusal the runtime chose (overloaded, still loading, timed out) is the server working as
    // meant: a warning with its message; its stack says nothing. Anything else at 5xx is a fault.
    if (err instanceof HttpError && status >= 500) request.log.warn({ reqId: request.id, status }, errorMessage(err));
    else if (status >= 500) request.log.error({ err: err.cause ?? err, reqId: request.id }, errorMessage(err));
    // Fastify closes a connection whose body it stopped reading, and a client still sending it
    // would get a reset instead of this answer: Node reads on and drops the rest instead (for
    // CORTEX_BODY_TIMEOUT_MS at most), so the client reads the 413.
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') reply.removeHeader('connection');
    reply.code(status).send({ error: describe(err, request), request_id: request.id });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: `no route for ${request.method} ${request.url}`, request_id: request.id });
  });
});
