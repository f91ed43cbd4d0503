import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { CLOCK } from '../common/clock.module';
import type { ErrorBody } from '../common/exception.filter';
import { routeOf } from '../common/request-path';
import type { Clock } from '../domain/clock';
import { ApiKeyAuthenticator, bearerToken } from '../tenants/auth';
import { IngestRate } from './ingest-rate';

/**
 * Refuses `POST /v1/events` of a tenant over its ingest rate before anything else is spent on it:
 * the body is not parsed or validated and PostgreSQL is not asked for the key. A flood of refused
 * requests otherwise cost the one thread every other tenant's deliveries run on (the noisy-neighbour
 * bench: 300 refusals a second). An `onRequest` hook, so it runs before the body is read (src/app.ts). It only refuses,
 * from a tenant the key was admitted for lately; anything else goes on to the guard and the normal
 * path, which takes the token. Answers as the exception filter would (same body, Retry-After).
 */
@Injectable()
export class EarlyIngestRefusal {
  constructor(
    @Inject(ApiKeyAuthenticator) private readonly keys: Pick<ApiKeyAuthenticator, 'lastKnownTenant'>,
    @Inject(IngestRate) private readonly rate: Pick<IngestRate, 'refusalNow'>,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Fastify `onRequest` hook: answers 429 (and ends the request) or lets it go on. */
  readonly handle = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (request.method !== 'POST' || routeOf(request) !== '/v1/events') return;
    const token = bearerToken(request);
    const tenantId = token === null ? undefined : this.keys.lastKnownTenant(token);
    const refusal = tenantId === undefined ? null : this.rate.refusalNow(tenantId, this.clock.now());
    if (refusal === null) return;
    const body: ErrorBody = {
      statusCode: 429,
      error: refusal.code,
      message: refusal.message,
      details: refusal.details,
      correlationId: (request.headers['x-request-id'] as string | undefined) ?? randomUUID(),
    };
    // Node reads and drops the unread body once the answer is sent, so the connection stays usable.
    await reply.status(429).header('Retry-After', String(refusal.retryAfterSeconds)).send(body);
  };
}
