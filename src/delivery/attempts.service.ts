import { Injectable } from '@nestjs/common';
import { decodeCursor, encodeCursor, SEQUENCE_ID } from '../common/pagination';
import { DomainError } from '../common/domain-error';
import { EndpointsRepository } from '../endpoints/endpoints.repository';
import { AttemptsRepository } from './attempts.repository';
import { RESPONSE_EXCERPT_CHARS, type AttemptDetailsDto, type AttemptPageDto } from './dto/attempt.dto';

/** The largest id a bigint sequence hands out: a larger one is no attempt's (and would fail the cast). */
const MAX_SEQUENCE_ID = 2n ** 63n - 1n;

/**
 * Reads the attempt log for one endpoint of one tenant: pages newest first, keyset-paginated, with
 * body excerpts, and one attempt with its whole body.
 */
@Injectable()
export class AttemptsService {
  constructor(
    private readonly endpoints: EndpointsRepository,
    private readonly attempts: AttemptsRepository,
  ) {}

  async list(
    tenantId: string,
    endpointId: string,
    limit: number,
    cursor?: string,
    outcome?: string,
  ): Promise<AttemptPageDto> {
    if (!(await this.endpoints.findForTenant(tenantId, endpointId))) throw DomainError.notFound('endpoint');
    const after = cursor === undefined ? null : decodeCursor(cursor, SEQUENCE_ID);
    if (cursor !== undefined && after === null) {
      throw DomainError.invalid('cursor is not valid', [
        'cursor must be a nextCursor value from a previous page',
      ]);
    }
    const rows = await this.attempts.page(
      tenantId,
      endpointId,
      after,
      limit + 1,
      RESPONSE_EXCERPT_CHARS,
      outcome ?? null,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(({ responseBodyCut, ...row }) => ({
        ...row,
        responseBodyTruncated: responseBodyCut,
        attemptedAt: row.attemptedAt.toISOString(),
      })),
      nextCursor: rows.length > limit ? encodeCursor({ createdAt: last.attemptedAt, id: last.id }) : null,
    };
  }

  async get(tenantId: string, endpointId: string, attemptId: string): Promise<AttemptDetailsDto> {
    if (!SEQUENCE_ID.test(attemptId) || BigInt(attemptId) > MAX_SEQUENCE_ID) {
      throw DomainError.invalid('attemptId is not valid', [
        'attemptId must be the id of an attempt listed by GET /v1/endpoints/:id/attempts',
      ]);
    }
    if (!(await this.endpoints.findForTenant(tenantId, endpointId))) throw DomainError.notFound('endpoint');
    const attempt = await this.attempts.one(tenantId, endpointId, attemptId);
    if (!attempt) throw DomainError.notFound('attempt');
    return { ...attempt, attemptedAt: attempt.attemptedAt.toISOString() };
  }
}
