import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError } from '../common/domain-error';
import type { AttemptDto, AttemptPageDto } from './dto/attempt.dto';

interface AttemptRow {
  id: string;
  event_id: string;
  delivery_id: string;
  attempt: number;
  outcome: string;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  response_body: string | null;
  attempted_at: Date;
}

/** Reads the attempt log for one endpoint of one tenant, newest first, keyset-paginated. */
@Injectable()
export class AttemptsQuery {
  constructor(private readonly dataSource: DataSource) {}

  async list(tenantId: string, endpointId: string, limit: number, cursor?: string): Promise<AttemptPageDto> {
    const owned = await this.dataSource.query<unknown[]>(
      `SELECT 1 FROM endpoints WHERE id = $1 AND tenant_id = $2`,
      [endpointId, tenantId],
    );
    if (owned.length === 0) throw DomainError.notFound('endpoint');
    const after = cursor === undefined ? null : decodeCursor(cursor);
    const rows = await this.dataSource.query<AttemptRow[]>(
      `SELECT id, event_id, delivery_id, attempt, outcome, status_code, error, latency_ms, response_body, attempted_at
         FROM delivery_attempts
        WHERE endpoint_id = $1 AND tenant_id = $2
          AND ($3::timestamptz IS NULL OR (attempted_at, id) < ($3::timestamptz, $4::bigint))
        ORDER BY attempted_at DESC, id DESC
        LIMIT $5`,
      [endpointId, tenantId, after?.at ?? null, after?.id ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(toDto),
      nextCursor: rows.length > limit ? encodeCursor(last.attempted_at, last.id) : null,
    };
  }
}

function toDto(row: AttemptRow): AttemptDto {
  return {
    id: String(row.id),
    eventId: row.event_id,
    deliveryId: row.delivery_id,
    attempt: row.attempt,
    outcome: row.outcome,
    statusCode: row.status_code,
    error: row.error,
    latencyMs: row.latency_ms,
    responseBody: row.response_body,
    attemptedAt: row.attempted_at.toISOString(),
  };
}

function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), String(id)])).toString('base64url');
}

function decodeCursor(cursor: string): { at: string; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as [string, string];
    if (Number.isNaN(Date.parse(at)) || !/^\d+$/.test(id)) throw new Error('bad cursor');
    return { at, id };
  } catch {
    throw DomainError.invalid('cursor is not valid', [
      'cursor must be a nextCursor value from a previous page',
    ]);
  }
}
