import { RELAY_LOCK_KEY, type OutboxTable } from './outbox-table';

/**
 * Tenants whose locks a claim tries, per tenant it may take: with the first tenants held by other
 * relays, a claim goes on to the next ones (up to 8 × `tenantsPerBatch` tenants looked at).
 */
export const CANDIDATES_PER_TENANT = 8;

/**
 * The claim, one statement ($1 tenants per claim, $2 rows per claim): the rows it returns, in
 * sequence order, are all the relay may send, and the transaction holds the relay lock of their
 * tenants until it commits.
 *
 * `candidates`: up to $1 × CANDIDATES_PER_TENANT tenants with unsent rows, oldest unsent row first,
 * with their unsent row counts. `walk` goes down that list one tenant per step and tries that
 * tenant's lock (a tenant another relay holds is skipped, and so is every later row of it); it stops
 * once $1 tenants are locked or the locked tenants' rows fill $2. So the lock is tried once per
 * tenant walked, never for a tenant past the stop: the call is in the select list of the recursive
 * step, which PostgreSQL evaluates only for the one row that passes the step's WHERE (a filter
 * with LIMIT after it would not promise that). Every locked tenant gets rows: the rows older than
 * a locked tenant's oldest belong to the tenants locked before it, fewer than $2 rows in all.
 *
 * The rows are taken as before: unsent rows of the locked tenants in sequence order, FOR UPDATE
 * SKIP LOCKED, whose recheck drops rows another relay sent after this statement's snapshot. The
 * tenants' order is kept: one relay holds a tenant at a time and takes its oldest unsent rows.
 * `candidates` is MATERIALIZED, else it would be inlined and recomputed at every step of `walk`.
 * `payload::text` is the stored JSON as it is; on a `payload jsonb` table (an earlier version's)
 * its rendering.
 */
export function relayClaimSql(table: OutboxTable): string {
  return `WITH RECURSIVE candidates AS MATERIALIZED (
      SELECT tenant_id, count(*) AS unsent, row_number() OVER (ORDER BY min(sequence)) AS position
      FROM ${table.sql} WHERE sent_at IS NULL
      GROUP BY tenant_id ORDER BY min(sequence) LIMIT $1::int * ${CANDIDATES_PER_TENANT}
    ), walk (position, tenant_id, unsent, locked, tenants_before, rows_before) AS (
      SELECT 0::bigint, NULL::text, 0::bigint, false, 0, 0::bigint
      UNION ALL
      SELECT c.position, c.tenant_id, c.unsent,
        pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}, hashtext(c.tenant_id)),
        w.tenants_before + w.locked::int,
        w.rows_before + CASE WHEN w.locked THEN w.unsent ELSE 0 END
      FROM walk w JOIN candidates c ON c.position = w.position + 1
      WHERE w.tenants_before + w.locked::int < $1::int
        AND w.rows_before + CASE WHEN w.locked THEN w.unsent ELSE 0 END < $2::int
    )
    SELECT o.sequence, o.tenant_id, o.payload::text AS payload FROM ${table.sql} o
    WHERE o.sent_at IS NULL AND o.tenant_id IN (SELECT tenant_id FROM walk WHERE locked)
    ORDER BY o.sequence LIMIT $2::int
    FOR UPDATE OF o SKIP LOCKED`;
}
