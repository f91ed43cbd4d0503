import type { FastifyRequest } from 'fastify';

/** The path of a request target, without its query string (`/v1/events?x=1` -> `/v1/events`). */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * What a request is served as: the pattern of the route it matched (`/metrics`,
 * `/v1/endpoints/:id`), or its path when it matched none. Checks that gate a route use this, not
 * the raw target: the router decodes `/%6Detrics` to `/metrics` and reads the path out of an
 * absolute-form target (`GET http://host/metrics`), so the raw target can name another path than
 * the route that answers it.
 */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? pathOf(request.url);
}
