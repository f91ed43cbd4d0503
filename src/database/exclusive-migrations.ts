import type { PoolClient } from 'pg';
import { MigrationExecutor, type DataSource, type Migration, type QueryRunner } from 'typeorm';
import { BUILDER_OF_INDEX } from './migrations/concurrent-index';
import { backendActivity, describeBackend, type BackendActivity, type RunQuery } from './backend-activity';

/** One key for every runner: the service at boot and `npm run migration:run`, on any replica. */
export const MIGRATION_LOCK_KEY = 'hookstream:migrations';

export interface MigrationRunOptions {
  /**
   * How long one DDL statement waits for a table lock before it gives up. An ALTER TABLE waiting in
   * the lock queue makes every later query on that table wait behind it, from every replica.
   */
  lockTimeout?: string;
  /** Runs in all, the first included, when a statement gives up on its lock (55P03). */
  attempts?: number;
  /** Wait before the second run; doubled before each run after it. */
  firstBackoffMs?: number;
  /** How often a runner asks again for the lock another runner holds. */
  lockPollMs?: number;
  /**
   * Longest a runner waits for the lock another runner holds (HOOKSTREAM_MIGRATION_LOCK_WAIT): the
   * holder's CREATE INDEX CONCURRENTLY can wait without limit for an old transaction, and every
   * booting replica would wait behind it.
   */
  lockWaitMs?: number;
  /** How often `onWaitForLock` is told again while the wait goes on. */
  lockWaitReportMs?: number;
  /** Told when another runner holds the lock, and every `lockWaitReportMs` after, with who holds it. */
  onWaitForLock?: (holder: MigrationLockHolder, waitedMs: number) => void;
  /** Told before each retry, with the error that ended the run before it. */
  onRetry?: (error: Error, attempt: number, backoffMs: number) => void;
}

/** lock_not_available: lock_timeout expired (or NOWAIT found the lock taken). */
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Applies pending migrations under a session-level advisory lock, on one connection held for the
 * whole run: a second runner waits for the first, then finds nothing left to run (TypeORM's own
 * runner takes no lock, so replicas booting together ran the same migrations at once). A run that
 * gives up on a table lock is rolled back by TypeORM and run again after a backoff, a bounded
 * number of times; the migrations it had already applied stay applied.
 */
export async function runMigrationsExclusively(
  dataSource: DataSource,
  options: MigrationRunOptions = {},
): Promise<Migration[]> {
  const { lockTimeout = '5s', attempts = 5, firstBackoffMs = 1000 } = options;
  const queryRunner = dataSource.createQueryRunner('master');
  const session = (await queryRunner.connect()) as PoolClient;
  try {
    await lockMigrations(queryRunner, options);
    try {
      await queryRunner.query(`SELECT set_config('lock_timeout', $1, false)`, [lockTimeout]);
      for (let attempt = 1; ; attempt++) {
        try {
          const executor = new MigrationExecutor(dataSource, queryRunner);
          // Each migration in its own transaction unless it opts out (CREATE INDEX CONCURRENTLY).
          executor.transaction = 'each';
          return await executor.executePendingMigrations();
        } catch (error) {
          if (attempt >= attempts || !isLockTimeout(error)) throw error;
          const backoffMs = firstBackoffMs * 2 ** (attempt - 1);
          options.onRetry?.(error as Error, attempt, backoffMs);
          await new Promise((resolve) => setTimeout(resolve, backoffMs));
        }
      }
    } finally {
      await unlockMigrations(queryRunner, session);
    }
  } finally {
    await queryRunner.release();
  }
}

/**
 * Gives back the lock and the runner's lock_timeout. When either statement fails, the session is
 * closed, and pg-pool drops a closed client on release, so both end with it: a lock left on a pooled
 * connection would keep every other runner waiting, and the lock_timeout would cut off the lock
 * waits of the connection's next user.
 */
async function unlockMigrations(queryRunner: QueryRunner, session: PoolClient): Promise<void> {
  try {
    await queryRunner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [MIGRATION_LOCK_KEY]);
    await queryRunner.query(`RESET lock_timeout`);
  } catch (error) {
    await session.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Polls with pg_try_advisory_lock rather than blocking in pg_advisory_lock: a statement blocked
 * there holds a snapshot, and the holder's CREATE INDEX CONCURRENTLY waits for every older snapshot
 * to go, so the two deadlocked (seen in test/database/exclusive-migrations.int-spec.ts).
 */
async function lockMigrations(
  queryRunner: QueryRunner,
  {
    lockPollMs = 500,
    lockWaitMs = 10 * 60_000,
    lockWaitReportMs = 30_000,
    onWaitForLock,
  }: MigrationRunOptions,
): Promise<void> {
  const query: RunQuery = (sql, parameters) => queryRunner.query(sql, parameters);
  const started = Date.now();
  let nextReport = started;
  for (;;) {
    const [{ locked }] = (await queryRunner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [
      MIGRATION_LOCK_KEY,
    ])) as Array<{ locked: boolean }>;
    if (locked) return;
    const waitedMs = Date.now() - started;
    if (waitedMs >= lockWaitMs) {
      const holder = await migrationLockHolder(query);
      // Let go between the try and the look: try again at once rather than fail.
      if (!holder.holder) continue;
      throw new MigrationLockWaitExpired(waitedMs, holder);
    }
    if (onWaitForLock && Date.now() >= nextReport) {
      onWaitForLock(await migrationLockHolder(query), waitedMs);
      nextReport = Date.now() + lockWaitReportMs;
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(lockPollMs, started + lockWaitMs - Date.now())),
    );
  }
}

/** Who holds the migration lock in this database, what it does, and what it waits for. */
export interface MigrationLockHolder {
  /** Undefined when the lock was let go between the try and this look. */
  holder?: BackendActivity;
  waitingFor: BackendActivity[];
}

export async function migrationLockHolder(query: RunQuery): Promise<MigrationLockHolder> {
  // A bigint advisory key shows in pg_locks as its high half (classid) and low half (objid).
  const rows = (await query(
    `SELECT l.pid FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::int8 = (hashtext($1)::int8 >> 32) & 4294967295
        AND l.objid::int8 = hashtext($1)::int8 & 4294967295`,
    [MIGRATION_LOCK_KEY],
  )) as Array<{ pid: number }>;
  if (rows.length === 0) return { waitingFor: [] };
  // The holder is one of our runners, so its statement (a migration's DDL) is safe to quote.
  const [holder] = await backendActivity(query, [rows[0].pid], { withQuery: true });
  if (!holder) return { waitingFor: [] };
  return { holder, waitingFor: await backendActivity(query, holder.blockedBy) };
}

export function describeLockHolder({ holder, waitingFor }: MigrationLockHolder): string {
  if (!holder) return 'no holder found (it let go of the lock meanwhile)';
  const waits = waitingFor.map(describeBackend).join('; ');
  return `held by ${describeBackend(holder)}${waits ? `, which waits for ${waits}` : ''}`;
}

/** The migration lock stayed taken past HOOKSTREAM_MIGRATION_LOCK_WAIT. */
export class MigrationLockWaitExpired extends Error {
  readonly holderPid: number | undefined;
  constructor(waitedMs: number, holder: MigrationLockHolder) {
    super(
      `gave up waiting for the migration lock after ${waitedMs} ms (HOOKSTREAM_MIGRATION_LOCK_WAIT): ` +
        `${describeLockHolder(holder)}`,
    );
    this.name = 'MigrationLockWaitExpired';
    this.holderPid = holder.holder?.pid;
  }
}

function isLockTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === LOCK_NOT_AVAILABLE;
}

/**
 * Indexes of this schema left invalid (a CONCURRENTLY build that failed or was cut off) and not
 * being built now. Such an index is never used, and its migration counts as applied.
 */
export async function invalidIndexes(dataSource: DataSource): Promise<string[]> {
  const rows = await dataSource.query<Array<{ name: string }>>(
    `SELECT c.relname AS name FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT i.indisvalid AND n.nspname = current_schema()
        AND ${BUILDER_OF_INDEX} IS NULL
      ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

export interface MigrationLog {
  info(message: string): void;
  warn(message: string): void;
}

/** The service at boot and `npm run migration:run` both apply migrations through here. */
export async function applyMigrations(
  dataSource: DataSource,
  log: MigrationLog,
  { lockWaitMs, lockWaitReportMs }: { lockWaitMs: number; lockWaitReportMs?: number },
): Promise<string[]> {
  let told = false;
  const applied = await runMigrationsExclusively(dataSource, {
    lockWaitMs,
    lockWaitReportMs,
    onWaitForLock: (holder, waitedMs) => {
      const message =
        `another runner holds the migration lock; waited ${Math.round(waitedMs / 1000)} s of ` +
        `${Math.round(lockWaitMs / 1000)} s: ${describeLockHolder(holder)}`;
      // The first line is the ordinary turn-taking of replicas booting together; later ones are a stall.
      if (told) log.warn(message);
      else log.info(message);
      told = true;
    },
    onRetry: (error, attempt, backoffMs) =>
      log.warn(
        `migration run ${attempt} gave up waiting for a table lock (${error.message}); ` +
          `running again in ${backoffMs} ms`,
      ),
  });
  const invalid = await invalidIndexes(dataSource);
  if (invalid.length > 0) {
    log.warn(
      `invalid indexes, never used by a query (a concurrent build failed or was cut off): ` +
        `${invalid.join(', ')}; drop and rebuild each (DROP INDEX CONCURRENTLY, then CREATE INDEX CONCURRENTLY)`,
    );
  }
  return applied.map((migration) => migration.name);
}
