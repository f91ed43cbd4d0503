import { MigrationExecutor, type DataSource, type Migration, type QueryRunner } from 'typeorm';

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
  /** Told when another runner holds the lock, so the wait can be logged. */
  onWaitForLock?: () => void;
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
  const { lockTimeout = '5s', attempts = 5, firstBackoffMs = 1000, lockPollMs = 500 } = options;
  const queryRunner = dataSource.createQueryRunner('master');
  await queryRunner.connect();
  try {
    await lockMigrations(queryRunner, lockPollMs, options.onWaitForLock);
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
      await queryRunner.query(`RESET lock_timeout`);
      await queryRunner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await queryRunner.release();
  }
}

/**
 * Polls with pg_try_advisory_lock rather than blocking in pg_advisory_lock: a statement blocked
 * there holds a snapshot, and the holder's CREATE INDEX CONCURRENTLY waits for every older snapshot
 * to go, so the two deadlocked (seen in test/database/exclusive-migrations.int-spec.ts).
 */
async function lockMigrations(queryRunner: QueryRunner, pollMs: number, onWait?: () => void): Promise<void> {
  for (let waited = false; ; waited = true) {
    const [{ locked }] = (await queryRunner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [
      MIGRATION_LOCK_KEY,
    ])) as Array<{ locked: boolean }>;
    if (locked) return;
    if (!waited) onWait?.();
    await new Promise((resolve) => setTimeout(resolve, pollMs));
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
        AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)
      ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

export interface MigrationLog {
  info(message: string): void;
  warn(message: string): void;
}

/** The service at boot and `npm run migration:run` both apply migrations through here. */
export async function applyMigrations(dataSource: DataSource, log: MigrationLog): Promise<string[]> {
  const applied = await runMigrationsExclusively(dataSource, {
    onWaitForLock: () => log.info('another runner holds the migration lock; waiting for it'),
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
