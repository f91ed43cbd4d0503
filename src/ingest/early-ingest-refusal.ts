import { Inject, Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { CLOCK } from '../common/clock.module';
import type { ErrorBody } from '../common/exception.filter';
import type { Clock } from '../domain/clock';
import { ApiKeyAuthenticator, bearerToken } from '../tenants/auth';
import { IngestRate } from './ingest-rate';

/**
 * Refuses `POST /v1/events` of a tenant over its ingest rate before anything else is spent on it:
 * the body is not parsed or validated and PostgreSQL is not asked for the key. A flood of refused
 * requests otherwise cost the one thread every other tenant's deliveries run on (the noisy-neighbour
 * bench: 300 refusals a second). Mounted ahead of the body parser (src/app.ts). It only refuses,
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

  /** Express middleware. */
  readonly handle = (request: Request, response: Response, next: NextFunction): void => {
    if (request.method !== 'POST' || request.path !== '/v1/events') return next();
    const token = bearerToken(request);
    const tenantId = token === null ? undefined : this.keys.lastKnownTenant(token);
    const refusal = tenantId === undefined ? null : this.rate.refusalNow(tenantId, this.clock.now());
    if (refusal === null) return next();
    const body: ErrorBody = {
      statusCode: 429,
      error: refusal.code,
      message: refusal.message,
      details: refusal.details,
      correlationId: (request.headers['x-request-id'] as string | undefined) ?? randomUUID(),
    };
    // Node reads and drops the unread body once the answer is sent, so the connection stays usable.
    response.setHeader('Retry-After', String(refusal.retryAfterSeconds));
    response.status(429).json(body);
  };
}
