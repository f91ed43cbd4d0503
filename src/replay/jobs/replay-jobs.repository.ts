import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ExactPageCursor } from '../../common/pagination';
import type { JobCounts, ReplayJob, ReplayJobKind, ReplayJobState, ResumePoint } from './replay-job';

interface ReplayJobSqlRow {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  kind: ReplayJobKind;
  since_at: Date | null;
  until_at: Date | null;
  up_to: Date | null;
  state: ReplayJobState;
  cancel_requested: boolean;
  read_count: string;
  matched_count: string;
  replayed_count: string;
  resume_point: ResumePoint;
  error: string | null;
  claims: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface NewReplayJob {
  id: string;
  tenantId: string;
  endpointId: string;
  kind: ReplayJobKind;
  since: Date | null;
  until: Date | null;
  upTo: Date | null;
  resumePoint: ResumePoint;
}

const COLUMNS = `id, tenant_id, endpoint_id, kind, since_at, until_at, up_to, state, cancel_requested, read_count,
  matched_count, replayed_count, resume_point, error, claims, created_at, started_at, finished_at`;

/** A unique index refused the row: here, a second running job of one tenant. */
const UNIQUE_VIOLATION = '23505';

/**
 * `replay_jobs`, its only reader and writer. A runner holds a running job by lease (`lease_holder`
 * until `lease_expires_at`); every write of a running job's progress is conditional on still holding
 * it, so a runner that lost its lease (paused past it, partitioned away) can never overwrite the
 * progress of the runner that took the job over.
 */
@Injectable()
export class ReplayJobs {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Inserts a queued job unless the tenant already has `maxUnfinished` queued or running; null then.
   * A per-tenant advisory lock makes the count and the insert one step across replicas.
   */
  async create(job: NewReplayJob, maxUnfinished: number): Promise<ReplayJob | null> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query(`SELECT pg_advisory_xact_lock(hashtextextended('replay_jobs:' || $1, 0))`, [
        job.tenantId,
      ]);
      const [{ count }] = await manager.query<Array<{ count: string }>>(
        `SELECT count(*) FROM replay_jobs WHERE tenant_id = $1 AND state IN ('queued', 'running')`,
        [job.tenantId],
      );
      if (Number(count) >= maxUnfinished) return null;
      const rows = await manager.query<ReplayJobSqlRow[]>(
        `INSERT INTO replay_jobs (id, tenant_id, endpoint_id, kind, since_at, until_at, up_to, state, resume_point)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8::jsonb)
         RETURNING ${COLUMNS}`,
        [
          job.id,
          job.tenantId,
          job.endpointId,
          job.kind,
          job.since,
          job.until,
          job.upTo,
          JSON.stringify(job.resumePoint),
        ],
      );
      return fromSql(rows[0]);
    });
  }

  async get(tenantId: string, id: string): Promise<ReplayJob | null> {
    const rows = await this.dataSource.query<ReplayJobSqlRow[]>(
      `SELECT ${COLUMNS} FROM replay_jobs WHERE id = $1 AND tenant_id = $2`,
      [id, tenantId],
    );
    return rows.length ? fromSql(rows[0]) : null;
  }

  /**
   * Newest first, keyset-paginated by (created_at, id); each job with its position, the cursor after
   * it. `created_at` is the database's `now()`: the position keeps its microseconds, so a job created
   * in the same millisecond as the page's last is not skipped.
   */
  async page(
    tenantId: string,
    after: ExactPageCursor | null,
    limit: number,
  ): Promise<Array<{ job: ReplayJob; position: ExactPageCursor }>> {
    const rows = await this.dataSource.query<Array<ReplayJobSqlRow & { created_at_text: string }>>(
      `SELECT ${COLUMNS},
              to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at_text
         FROM replay_jobs
        WHERE tenant_id = $1
          AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $4`,
      [tenantId, after?.createdAt ?? null, after?.id ?? null, limit],
    );
    return rows.map((row) => ({
      job: fromSql(row),
      position: { createdAt: row.created_at_text, id: row.id },
    }));
  }

  /** Cancels a queued job at once; null when it was no longer queued. */
  async cancelQueued(tenantId: string, id: string): Promise<ReplayJob | null> {
    const rows = await this.dataSource.query<[ReplayJobSqlRow[], number]>(
      `UPDATE replay_jobs SET state = 'cancelled', cancel_requested = true, finished_at = now()
        WHERE id = $1 AND tenant_id = $2 AND state = 'queued'
        RETURNING ${COLUMNS}`,
      [id, tenantId],
    );
    return rows[0].length ? fromSql(rows[0][0]) : null;
  }

  /** Asks the runner of a running job to stop after its current chunk; null when it was not running. */
  async requestCancel(tenantId: string, id: string): Promise<ReplayJob | null> {
    const rows = await this.dataSource.query<[ReplayJobSqlRow[], number]>(
      `UPDATE replay_jobs SET cancel_requested = true
        WHERE id = $1 AND tenant_id = $2 AND state = 'running'
        RETURNING ${COLUMNS}`,
      [id, tenantId],
    );
    return rows[0].length ? fromSql(rows[0][0]) : null;
  }

  /**
   * Claims the oldest runnable job, queued or running with an expired lease (its runner crashed),
   * of a tenant with no other running job, for `holder` until `leaseMs` from now. Null when there is
   * none, or when another replica claimed one of the same tenant at the same moment (the unique
   * index on running jobs per tenant refused this one; the next poll tries again).
   */
  async claim(holder: string, leaseMs: number): Promise<ReplayJob | null> {
    try {
      const rows = await this.dataSource.query<[ReplayJobSqlRow[], number]>(
        `UPDATE replay_jobs
            SET state = 'running', lease_holder = $1,
                lease_expires_at = now() + make_interval(secs => $2::double precision / 1000),
                started_at = coalesce(started_at, now()), claims = claims + 1
          WHERE id = (
            SELECT j.id FROM replay_jobs j
             WHERE (j.state = 'queued' OR (j.state = 'running' AND j.lease_expires_at < now()))
               AND NOT EXISTS (SELECT 1 FROM replay_jobs r
                                WHERE r.tenant_id = j.tenant_id AND r.state = 'running' AND r.id <> j.id)
             ORDER BY j.created_at, j.id
             LIMIT 1
             FOR UPDATE SKIP LOCKED)
          RETURNING ${COLUMNS}`,
        [holder, leaseMs],
      );
      return rows[0].length ? fromSql(rows[0][0]) : null;
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) return null;
      throw error;
    }
  }

  /**
   * Saves a running job's counts and resume point and renews its lease; resolves with whether a
   * cancel was asked for, or null when `holder` no longer holds the job (it must stop at once).
   */
  async saveProgress(
    id: string,
    holder: string,
    leaseMs: number,
    counts: JobCounts,
    resumePoint: ResumePoint,
  ): Promise<{ cancelRequested: boolean } | null> {
    const rows = await this.dataSource.query<[Array<{ cancel_requested: boolean }>, number]>(
      `UPDATE replay_jobs
          SET read_count = $3, matched_count = $4, replayed_count = $5, resume_point = $6::jsonb,
              lease_expires_at = now() + make_interval(secs => $7::double precision / 1000)
        WHERE id = $1 AND lease_holder = $2 AND state = 'running'
        RETURNING cancel_requested`,
      [id, holder, counts.read, counts.matched, counts.replayed, JSON.stringify(resumePoint), leaseMs],
    );
    return rows[0].length ? { cancelRequested: rows[0][0].cancel_requested } : null;
  }

  /** Renews the lease alone (between chunks that take long); as `saveProgress` for what it answers. */
  async renew(id: string, holder: string, leaseMs: number): Promise<{ cancelRequested: boolean } | null> {
    const rows = await this.dataSource.query<[Array<{ cancel_requested: boolean }>, number]>(
      `UPDATE replay_jobs SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
        WHERE id = $1 AND lease_holder = $2 AND state = 'running'
        RETURNING cancel_requested`,
      [id, holder, leaseMs],
    );
    return rows[0].length ? { cancelRequested: rows[0][0].cancel_requested } : null;
  }

  /** Ends a job `holder` holds: succeeded, failed (with the error) or cancelled. */
  async finish(
    id: string,
    holder: string,
    state: 'succeeded' | 'failed' | 'cancelled',
    error: string | null,
  ): Promise<boolean> {
    const rows = await this.dataSource.query<[unknown[], number]>(
      `UPDATE replay_jobs SET state = $3, error = $4, finished_at = now(), lease_holder = NULL, lease_expires_at = NULL
        WHERE id = $1 AND lease_holder = $2 AND state = 'running'
        RETURNING id`,
      [id, holder, state, error],
    );
    return rows[0].length > 0;
  }

  /**
   * Lets the lease lapse (a graceful shutdown: now; a broker or database outage: after
   * `resumeAfterMs`, so a job is not claimed again every second for as long as it lasts): any
   * runner, this one's successor too, claims it then. The claim is not counted: only crashes count
   * towards MAX_CLAIMS.
   */
  async handBack(id: string, holder: string, resumeAfterMs = 0): Promise<void> {
    await this.dataSource.query(
      `UPDATE replay_jobs
          SET lease_expires_at = now() + ($3::int - 1) * interval '1 millisecond', claims = greatest(claims - 1, 0)
        WHERE id = $1 AND lease_holder = $2 AND state = 'running'`,
      [id, holder, resumeAfterMs],
    );
  }

  /** Jobs by state, every tenant (a cluster-wide gauge). */
  async countByState(): Promise<Array<{ state: ReplayJobState; count: number }>> {
    const rows = await this.dataSource.query<Array<{ state: ReplayJobState; count: string }>>(
      `SELECT state, count(*) AS count FROM replay_jobs GROUP BY state`,
    );
    return rows.map((row) => ({ state: row.state, count: Number(row.count) }));
  }
}

function fromSql(row: ReplayJobSqlRow): ReplayJob {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    endpointId: row.endpoint_id,
    kind: row.kind,
    since: row.since_at,
    until: row.until_at,
    upTo: row.up_to,
    state: row.state,
    cancelRequested: row.cancel_requested,
    counts: {
      read: Number(row.read_count),
      matched: Number(row.matched_count),
      replayed: Number(row.replayed_count),
    },
    resumePoint: row.resume_point,
    error: row.error,
    claims: row.claims,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
