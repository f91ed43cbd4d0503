/** A statement run on some connection: a QueryRunner's or a DataSource's `query`. */
export type RunQuery = (sql: string, parameters?: unknown[]) => Promise<unknown>;

/**
 * What one PostgreSQL backend is doing, from pg_stat_activity, for a log line or an error. Another
 * role's backend shows only its pid unless this role has pg_read_all_stats: the rest is null then.
 */
export interface BackendActivity {
  pid: number;
  state: string | null;
  queryStart: Date | null;
  querySeconds: number | null;
  transactionSeconds: number | null;
  waitEventType: string | null;
  waitEvent: string | null;
  applicationName: string | null;
  /** pg_blocking_pids: the backends whose locks this one waits for. */
  blockedBy: number[];
  /** The statement's start, only where the caller knows it is ours (a migration's DDL). */
  query?: string;
}

interface ActivityRow {
  pid: number;
  state: string | null;
  query_start: Date | null;
  query_seconds: number | null;
  transaction_seconds: number | null;
  wait_event_type: string | null;
  wait_event: string | null;
  application_name: string | null;
  blocked_by: number[];
  query: string | null;
}

const QUERY_CHARS = 160;

/**
 * The backends `pids` names, in that order; a pid that has gone is left out. The query text is read
 * only when `withQuery`: another session's statement can hold values (a psql UPDATE), ours cannot.
 */
export async function backendActivity(
  query: RunQuery,
  pids: number[],
  { withQuery = false }: { withQuery?: boolean } = {},
): Promise<BackendActivity[]> {
  if (pids.length === 0) return [];
  const rows = (await query(
    `SELECT a.pid, a.state, a.query_start,
            floor(extract(epoch FROM clock_timestamp() - a.query_start))::int AS query_seconds,
            floor(extract(epoch FROM clock_timestamp() - a.xact_start))::int AS transaction_seconds,
            a.wait_event_type, a.wait_event, a.application_name,
            pg_blocking_pids(a.pid) AS blocked_by,
            CASE WHEN $2 THEN left(a.query, ${QUERY_CHARS}) END AS query
       FROM pg_stat_activity a
      WHERE a.pid = ANY($1::int[])
      ORDER BY array_position($1::int[], a.pid)`,
    [pids, withQuery],
  )) as ActivityRow[];
  return rows.map((row) => ({
    pid: row.pid,
    state: row.state,
    queryStart: row.query_start,
    querySeconds: row.query_seconds,
    transactionSeconds: row.transaction_seconds,
    waitEventType: row.wait_event_type,
    waitEvent: row.wait_event,
    applicationName: row.application_name,
    blockedBy: row.blocked_by,
    ...(row.query === null ? {} : { query: row.query }),
  }));
}

/** `pid 123 (idle in transaction, query started 2026-12-07T11:40:00.000Z, 312 s ago, …)`. */
export function describeBackend(backend: BackendActivity): string {
  const facts: string[] = [backend.state ?? 'state not visible to this role'];
  if (backend.queryStart) {
    facts.push(`query started ${backend.queryStart.toISOString()}, ${backend.querySeconds} s ago`);
  }
  if (backend.transactionSeconds !== null)
    facts.push(`in its transaction for ${backend.transactionSeconds} s`);
  facts.push(
    backend.waitEvent ? `wait_event ${backend.waitEventType}:${backend.waitEvent}` : 'no wait_event',
  );
  if (backend.blockedBy.length > 0) facts.push(`blocked by pid ${backend.blockedBy.join(', ')}`);
  if (backend.applicationName) facts.push(`application ${JSON.stringify(backend.applicationName)}`);
  if (backend.query !== undefined) facts.push(`query ${JSON.stringify(backend.query)}`);
  return `pid ${backend.pid} (${facts.join(', ')})`;
}
