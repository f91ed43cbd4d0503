import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PageCursor } from '../common/pagination';
import type { AttemptAggregate } from '../domain/endpoint-stats';

/** One delivery attempt as logged. */
export interface AttemptRecord {
  endpointId: string;
  tenantId: string;
  eventId: string;
  deliveryId: string;
  attempt: number;
  statusCode: number | null;
  error: string | null;
  outcome: 'delivered' | 'failed' | 'skipped';
  latencyMs: number;
  responseBody: string | null;
  attemptedAt: Date;
  /** The `webhook-timestamp` and `webhook-signature` headers sent; absent when nothing was signed. */
  webhookTimestamp?: number | null;
  webhookSignature?: string | null;
}

export interface StoredAttempt {
  id: string;
  eventId: string;
  deliveryId: string;
  attempt: number;
  outcome: string;
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
  responseBody: string | null;
  attemptedAt: Date;
  webhookTimestamp: number | null;
  webhookSignature: string | null;
}

/** One attempt as a list shows it: its response body possibly cut. */
export interface ListedAttempt extends StoredAttempt {
  /** Whether `responseBody` is the start of a longer body. */
  responseBodyCut: boolean;
}

/** One attempt of an event, as `GET /v1/events/:id` lists it. */
export interface EventAttempt extends ListedAttempt {
  endpointId: string;
}

/** One endpoint's whole history of one event in the attempt log. */
export interface EventAttemptSummary {
  count: number;
  lastDeliveredAt: Date | null;
  lastFailedAt: Date | null;
}

/** The newest attempt of an endpoint, for the operators' dashboard. */
export interface LastAttempt {
  statusCode: number | null;
  outcome: string;
  attemptedAt: Date;
}

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
  webhook_timestamp: string | null;
  webhook_signature: string | null;
}

const COLUMNS = 13;
/**
 * `($1,...,$13)` for row i of a batch, the same text for every batch: built once per row index
 * rather than once per row written (a fifth of the attempt log's CPU per row).
 */
const rowPlaceholders: string[] = [];
function placeholdersOfRow(i: number): string {
  let text = rowPlaceholders[i];
  if (text === undefined) {
    const base = i * COLUMNS;
    text = `(${Array.from({ length: COLUMNS }, (_, c) => `$${base + c + 1}`).join(',')})`;
    rowPlaceholders[i] = text;
  }
  return text;
}

/** The `delivery_attempts` table: its only reader and writer. */
@Injectable()
export class AttemptsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(batch: AttemptRecord[]): Promise<void> {
    const values: unknown[] = [];
    const rows = batch.map((r, i) => {
      values.push(
        r.endpointId,
        r.tenantId,
        r.eventId,
        r.deliveryId,
        r.attempt,
        r.statusCode,
        r.error,
        r.outcome,
        r.latencyMs,
        r.responseBody,
        // As text: pg formats a Date in local time piece by piece, about 1 KB of garbage a row.
        r.attemptedAt.toISOString(),
        r.webhookTimestamp ?? null,
        r.webhookSignature ?? null,
      );
      return placeholdersOfRow(i);
    });
    await this.dataSource.query(
      `INSERT INTO delivery_attempts (endpoint_id, tenant_id, event_id, delivery_id, attempt, status_code, error,
         outcome, latency_ms, response_body, attempted_at, webhook_timestamp, webhook_signature) VALUES ${rows.join(',')}`,
      values,
    );
  }

  /**
   * One endpoint's attempts, newest first, after `after` (keyset pagination), each response body
   * cut to `bodyChars` characters: 100 whole bodies of 64 KiB made up to 39 MB of JSON.
   */
  async page(
    tenantId: string,
    endpointId: string,
    after: PageCursor | null,
    limit: number,
    bodyChars: number,
    outcome: string | null = null,
  ): Promise<ListedAttempt[]> {
    const rows = await this.dataSource.query<Array<AttemptRow & { response_body_cut: boolean }>>(
      `SELECT id, event_id, delivery_id, attempt, outcome, status_code, error, latency_ms,
              left(response_body, $7) AS response_body, coalesce(length(response_body) > $7, false) AS response_body_cut,
              attempted_at, webhook_timestamp, webhook_signature
         FROM delivery_attempts
        WHERE endpoint_id = $1 AND tenant_id = $2
          AND ($3::timestamptz IS NULL OR (attempted_at, id) < ($3::timestamptz, $4::bigint))
          AND ($6::text IS NULL OR outcome = $6::text)
        ORDER BY attempted_at DESC, id DESC
        LIMIT $5`,
      [endpointId, tenantId, after?.createdAt ?? null, after?.id ?? null, limit, outcome, bodyChars],
    );
    return rows.map((row) => ({ ...toStoredAttempt(row), responseBodyCut: row.response_body_cut }));
  }

  /** One attempt of one endpoint of the tenant, with its whole response body; null when there is none. */
  async one(tenantId: string, endpointId: string, attemptId: string): Promise<StoredAttempt | null> {
    const [row] = await this.dataSource.query<AttemptRow[]>(
      `SELECT id, event_id, delivery_id, attempt, outcome, status_code, error, latency_ms, response_body, attempted_at,
              webhook_timestamp, webhook_signature
         FROM delivery_attempts
        WHERE id = $1::bigint AND endpoint_id = $2 AND tenant_id = $3`,
      [attemptId, endpointId, tenantId],
    );
    return row === undefined ? null : toStoredAttempt(row);
  }

  /**
   * The attempts of one event at any endpoint of the tenant, oldest first: at most `limit`, taken
   * newest first in turns across endpoints (each endpoint's newest, then each one's second newest,
   * ...), so one endpoint's long history cannot crowd out another's latest attempt. Each response
   * body is cut to `bodyChars` characters: a full one is 64 KiB, and 1,000 of them answered at once
   * made one request cost hundreds of megabytes of JSON.
   */
  async forEvent(
    tenantId: string,
    eventId: string,
    limit: number,
    bodyChars: number,
  ): Promise<EventAttempt[]> {
    const rows = await this.dataSource.query<
      Array<AttemptRow & { endpoint_id: string; response_body_cut: boolean }>
    >(
      `WITH ranked AS (
         SELECT id, attempted_at,
                row_number() OVER (PARTITION BY endpoint_id ORDER BY attempted_at DESC, id DESC) AS turn
           FROM delivery_attempts
          WHERE tenant_id = $1 AND event_id = $2),
       kept AS (SELECT id FROM ranked ORDER BY turn, attempted_at DESC, id DESC LIMIT $3)
       SELECT a.id, a.endpoint_id, a.event_id, a.delivery_id, a.attempt, a.outcome, a.status_code, a.error,
              a.latency_ms, left(a.response_body, $4) AS response_body,
              coalesce(length(a.response_body) > $4, false) AS response_body_cut,
              a.attempted_at, a.webhook_timestamp, a.webhook_signature
         FROM kept JOIN delivery_attempts a ON a.id = kept.id
        ORDER BY a.attempted_at, a.id`,
      [tenantId, eventId, limit, bodyChars],
    );
    return rows.map((row) => ({
      ...toStoredAttempt(row),
      endpointId: row.endpoint_id,
      responseBodyCut: row.response_body_cut,
    }));
  }

  /**
   * Per endpoint, what the whole attempt log holds of one event: how many attempts, and when the
   * newest delivered and the newest failed one were made (all a delivery state needs).
   */
  async summaryForEvent(tenantId: string, eventId: string): Promise<Map<string, EventAttemptSummary>> {
    const rows = await this.dataSource.query<
      Array<{
        endpoint_id: string;
        count: number;
        last_delivered_at: Date | null;
        last_failed_at: Date | null;
      }>
    >(
      `SELECT endpoint_id, count(*)::int AS count,
              max(attempted_at) FILTER (WHERE outcome = 'delivered') AS last_delivered_at,
              max(attempted_at) FILTER (WHERE outcome = 'failed') AS last_failed_at
         FROM delivery_attempts
        WHERE tenant_id = $1 AND event_id = $2
        GROUP BY endpoint_id`,
      [tenantId, eventId],
    );
    return new Map(
      rows.map((row) => [
        row.endpoint_id,
        { count: row.count, lastDeliveredAt: row.last_delivered_at, lastFailedAt: row.last_failed_at },
      ]),
    );
  }

  /** The newest logged attempt of each of `endpointIds` (one index probe each). */
  async lastPerEndpoint(endpointIds: string[]): Promise<Map<string, LastAttempt>> {
    if (endpointIds.length === 0) return new Map();
    const rows = await this.dataSource.query<
      Array<{ endpoint_id: string; status_code: number | null; outcome: string; attempted_at: Date }>
    >(
      `SELECT e.id AS endpoint_id, a.status_code, a.outcome, a.attempted_at
         FROM unnest($1::uuid[]) AS e(id)
         CROSS JOIN LATERAL (
           SELECT status_code, outcome, attempted_at FROM delivery_attempts
            WHERE endpoint_id = e.id ORDER BY attempted_at DESC, id DESC LIMIT 1) a`,
      [endpointIds],
    );
    return new Map(
      rows.map((row) => [
        row.endpoint_id,
        { statusCode: row.status_code, outcome: row.outcome, attemptedAt: row.attempted_at },
      ]),
    );
  }

  /**
   * Attempts, deliveries and p95 latency of each of `endpointIds` since `since`, over the whole window
   * (bucket null) and per bucket of `bucketMs`: one pass over the endpoint index's range.
   */
  async aggregateSince(endpointIds: string[], since: Date, bucketMs: number): Promise<AttemptAggregate[]> {
    if (endpointIds.length === 0) return [];
    const rows = await this.dataSource.query<
      Array<{
        endpoint_id: string;
        bucket: number | null;
        attempts: number;
        delivered: number;
        p95: number | null;
      }>
    >(
      `SELECT endpoint_id, bucket, count(*)::int AS attempts,
              (count(*) FILTER (WHERE outcome = 'delivered'))::int AS delivered,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95
         FROM (SELECT endpoint_id, outcome, latency_ms,
                      floor(extract(epoch FROM attempted_at - $2::timestamptz) * 1000 / $3)::int AS b
                 FROM delivery_attempts
                WHERE endpoint_id = ANY($1::uuid[]) AND attempted_at >= $2 AND outcome <> 'skipped') a
        CROSS JOIN LATERAL (VALUES (a.b), (NULL::int)) AS g(bucket)
        GROUP BY endpoint_id, bucket`,
      [endpointIds, since, bucketMs],
    );
    return rows.map((row) => ({
      endpointId: row.endpoint_id,
      bucket: row.bucket,
      attempts: row.attempts,
      delivered: row.delivered,
      p95LatencyMs: row.p95 === null ? null : Math.round(Number(row.p95)),
    }));
  }

  /**
   * Deletes the rows attempted before `cutoff`, `batchSize` at a time, each batch its own statement:
   * one DELETE of an hour of attempts held a transaction open for as long as it ran, and the events
   * feed lists only rows older than every open transaction, so it showed nothing new meanwhile.
   */
  async deleteOlderThan(cutoff: Date, batchSize = 10_000): Promise<number> {
    let deleted = 0;
    for (;;) {
      const result: [unknown[], number] = await this.dataSource.query(
        `DELETE FROM delivery_attempts WHERE id IN (
           SELECT id FROM delivery_attempts WHERE attempted_at < $1 LIMIT $2)`,
        [cutoff, batchSize],
      );
      deleted += result[1];
      if (result[1] < batchSize) return deleted;
    }
  }
}

function toStoredAttempt(row: AttemptRow): StoredAttempt {
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
    attemptedAt: row.attempted_at,
    webhookTimestamp: row.webhook_timestamp === null ? null : Number(row.webhook_timestamp),
    webhookSignature: row.webhook_signature,
  };
}
