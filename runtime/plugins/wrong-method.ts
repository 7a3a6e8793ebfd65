// GET / and the like: only POST predicts, and the client is told so (405 with Allow) rather
// than that nothing is there. A plugin of its own, so that these requests never take an
// admission slot or count as predictions in the metrics.
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http-error.js';

export default async function wrongMethod(app: FastifyInstance) {
  app.route({
    method: ['GET', 'PUT', 'DELETE', 'PATCH'],
    url: '/',
    handler: async (request, reply) => {
      reply.header('allow', 'POST');
      throw new HttpError(405, `${request.method} does not predict; POST the sample (JSON, text or image bytes) instead`);
    },
  });
}
