// Request payloads: JSON → object, text/plain → string (Fastify's own parsers), and image/*
// or application/octet-stream → Buffer. Anything else is refused with 415.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

// Fastify tests this against the media type with its parameters ("image/jpeg; charset=…"),
// which clients add freely, so the pattern ends at the type, not at the end of the string.
const bytesType = /^(?:image\/[\w.+-]+|application\/octet-stream)(?:;|$)/;

export default fp(async function content(app: FastifyInstance) {
  app.addContentTypeParser(bytesType, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
});
