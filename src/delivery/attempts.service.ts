import { Injectable } from '@nestjs/common';
import { decodeCursor, encodeCursor, SEQUENCE_ID } from '../common/pagination';
import { DomainError } from '../common/domain-error';
import { EndpointsRepository } from '../endpoints/endpoints.repository';
import { AttemptsRepository } from './attempts.repository';
import type { AttemptDto, AttemptPageDto } from './dto/attempt.dto';

/** Reads the attempt log for one endpoint of one tenant, newest first, keyset-paginated. */
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
    const rows = await this.attempts.page(tenantId, endpointId, after, limit + 1, outcome ?? null);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map((row): AttemptDto => ({ ...row, attemptedAt: row.attemptedAt.toISOString() })),
      nextCursor: rows.length > limit ? encodeCursor({ createdAt: last.attemptedAt, id: last.id }) : null,
    };
  }
}
