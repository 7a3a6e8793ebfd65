// Request payloads: JSON → object, text/plain → string (Fastify's own parsers), and image/*
// or application/octet-stream → Buffer. Anything else is refused with 415.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export default fp(async function content(app: FastifyInstance) {
  app.addContentTypeParser(/^(image\/[\w.+-]+|application\/octet-stream)$/, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
});
