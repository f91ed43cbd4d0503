import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Fastify `onRequest` hook for the REST API (`/v1/…`): answers carry API keys, signing secrets,
 * portal links and tenant data, so no cache (a browser's disk cache on a shared machine, a proxy)
 * keeps them, and no browser reads them as anything but what their type says.
 */
export function apiResponseHeaders(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  if (request.url.startsWith('/v1/')) {
    void reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
  }
  done();
}
