import { PublishError } from '../errors';

/**
 * The outbox table: Debezium's outbox event router reads `id`, `aggregatetype`, `aggregateid`,
 * `type` and `payload` by default, so a team on Kafka Connect can point the router at the same
 * table instead of running the relay (packages/publisher/README.md). The relay needs the rest:
 * `tenant_id` to keep order per tenant, `sequence` for that order, `sent_at` and `created_at` for
 * the metrics and the retention.
 *
 * `payload` is `text`: the exact JSON `buildCloudEvent` wrote and validated, sent by the relay byte
 * for byte. JSON.stringify escapes U+0000 and lone surrogates, so that JSON is always valid UTF-8
 * without NUL bytes: a `text` column of a UTF8 database keeps it as it is, and Debezium's
 * StringConverter passes it on unchanged (Debezium hands a bytea column on as bytes or base64).
 * Tables created by earlier versions of this library have `payload jsonb`, which refuses `\u0000`
 * and lone surrogates and re-renders the rest (keys reordered, numbers rewritten): the library
 * still works on them, and `outboxPayloadTextDdl` converts them.
 */

/** `name` or `schema.name`, lower-case SQL identifiers: they are spliced into SQL, so nothing else. */
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/;

export const DEFAULT_OUTBOX_TABLE = 'hookstream_outbox';

/**
 * Keys of the two transaction-level advisory locks (first key of pg_advisory_xact_lock(int, int);
 * the second is hashtext(tenant id)): writers of one tenant queue on the first, relays on the second.
 */
export const WRITER_LOCK_KEY = 0x4853_4f57; // "HSOW"
export const RELAY_LOCK_KEY = 0x4853_4f52; // "HSOR"

export interface OutboxTable {
  /** Quoted, possibly schema-qualified: ready to splice into SQL. */
  sql: string;
  /** The unqualified name, a prefix for the index names. */
  base: string;
}

export function outboxTable(name: string = DEFAULT_OUTBOX_TABLE): OutboxTable {
  if (!TABLE_NAME.test(name)) {
    throw new PublishError(
      'invalid_config',
      `outbox table ${JSON.stringify(name)} must be a lower-case SQL identifier, optionally schema-qualified (like platform.outbox)`,
      false,
    );
  }
  const parts = name.split('.');
  return { sql: parts.map((part) => `"${part}"`).join('.'), base: parts[parts.length - 1] };
}

/** The statements that create the table and its indexes; idempotent (IF NOT EXISTS). */
export function outboxDdl(name: string = DEFAULT_OUTBOX_TABLE): string[] {
  const { sql: t, base } = outboxTable(name);
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (
      id text PRIMARY KEY,
      aggregatetype text NOT NULL,
      aggregateid text NOT NULL,
      type text NOT NULL,
      payload text NOT NULL,
      tenant_id text NOT NULL,
      sequence bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      sent_at timestamptz
    )`,
    // The relay's claim (per tenant, in order) and the metrics (oldest unsent) read only unsent rows.
    `CREATE INDEX IF NOT EXISTS "${base}_unsent_by_tenant" ON ${t} (tenant_id, sequence) WHERE sent_at IS NULL`,
    `CREATE INDEX IF NOT EXISTS "${base}_unsent" ON ${t} (sequence) WHERE sent_at IS NULL`,
    `CREATE INDEX IF NOT EXISTS "${base}_sent_at" ON ${t} (sent_at) WHERE sent_at IS NOT NULL`,
  ];
}

/**
 * The migration of a table created with `payload jsonb` (by earlier versions of this library): one statement,
 * `ALTER TABLE … ALTER COLUMN payload TYPE text USING payload::text`. Rows already there keep
 * PostgreSQL's rendering, which is what the relay would have sent for them anyway. It rewrites the
 * table under an ACCESS EXCLUSIVE lock (writers and relays wait for it); on a `text` column it
 * changes nothing, so it may run twice.
 */
export function outboxPayloadTextDdl(name: string = DEFAULT_OUTBOX_TABLE): string[] {
  return [`ALTER TABLE ${outboxTable(name).sql} ALTER COLUMN payload TYPE text USING payload::text`];
}

export function outboxDropDdl(name: string = DEFAULT_OUTBOX_TABLE): string[] {
  return [`DROP TABLE IF EXISTS ${outboxTable(name).sql}`];
}

/** Anything that runs SQL: a `pg` Client or PoolClient, or a TypeORM EntityManager or QueryRunner. */
export interface SqlExecutor {
  query(text: string, parameters?: unknown[]): Promise<unknown>;
}

/** Rows of a query result, whichever client ran it (pg gives `{ rows }`, TypeORM the rows). */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  if (typeof result === 'object' && result !== null && Array.isArray((result as { rows?: unknown }).rows)) {
    return (result as { rows: T[] }).rows;
  }
  return [];
}

/** Creates the outbox table on any executor; the platform service runs this from its migrations. */
export async function createOutboxTable(executor: SqlExecutor, name?: string): Promise<void> {
  for (const statement of outboxDdl(name)) await executor.query(statement);
}

/** Runs `outboxPayloadTextDdl` on any executor. */
export async function migrateOutboxPayloadToText(executor: SqlExecutor, name?: string): Promise<void> {
  for (const statement of outboxPayloadTextDdl(name)) await executor.query(statement);
}

/**
 * The same as a TypeORM migration class instance (structurally a `MigrationInterface`, so this
 * package needs no TypeORM dependency): `migrations: [outboxMigration('platform.outbox', 1765000000000)]`.
 */
export function outboxMigration(
  name: string,
  timestamp: number,
): { name: string; up(runner: SqlExecutor): Promise<void>; down(runner: SqlExecutor): Promise<void> } {
  return {
    name: `HookstreamOutbox${timestamp}`,
    up: (runner) => createOutboxTable(runner, name),
    down: async (runner) => {
      for (const statement of outboxDropDdl(name)) await runner.query(statement);
    },
  };
}

/**
 * `outboxPayloadTextDdl` as a TypeORM migration, for a service whose `outboxMigration` ran with an
 * earlier version of this library: `migrations: [outboxMigration(...), outboxPayloadTextMigration('platform.outbox', 1766000000000)]`.
 * `down` goes back to jsonb, and fails if a row holds what jsonb cannot (a `\u0000`, a lone surrogate).
 */
export function outboxPayloadTextMigration(
  name: string,
  timestamp: number,
): { name: string; up(runner: SqlExecutor): Promise<void>; down(runner: SqlExecutor): Promise<void> } {
  return {
    name: `HookstreamOutboxPayloadText${timestamp}`,
    up: (runner) => migrateOutboxPayloadToText(runner, name),
    down: async (runner) => {
      await runner.query(
        `ALTER TABLE ${outboxTable(name).sql} ALTER COLUMN payload TYPE jsonb USING payload::jsonb`,
      );
    },
  };
}
