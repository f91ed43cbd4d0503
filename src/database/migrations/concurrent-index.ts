import type { QueryRunner } from 'typeorm';

export interface ConcurrentBuildWait {
  /** How long to wait for another session's build of the same index to finish. */
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Builds an index without blocking writes to its table (CREATE INDEX CONCURRENTLY), for a migration
 * run outside a transaction (`transaction = false`). A build an earlier run left invalid (it failed
 * or was interrupted) is dropped first, so running the migration again finishes the job. An index
 * being built right now is invalid too until its build ends: that one is waited for, never dropped
 * (its builder would have recorded the migration while this run dropped the index).
 */
export async function createIndexConcurrently(
  queryRunner: QueryRunner,
  name: string,
  definition: string,
  { timeoutMs = 30 * 60_000, pollMs = 1000 }: ConcurrentBuildWait = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left: { valid: boolean; building: boolean } | undefined;
  for (;;) {
    [left] = (await queryRunner.query(
      `SELECT i.indisvalid AS valid,
              EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
                       WHERE p.index_relid = i.indexrelid) AS building
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = $1 AND pg_table_is_visible(c.oid)`,
      [name],
    )) as Array<{ valid: boolean; building: boolean }>;
    if (left?.valid === true) return;
    if (!left?.building) break;
    if (Date.now() >= deadline) {
      throw new Error(
        `index ${name} is still being built by another session after ${timeoutMs} ms; ` +
          `run the migrations again once that build has ended`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  await withoutLockTimeout(queryRunner, async () => {
    if (left) await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
    await queryRunner.query(`CREATE INDEX CONCURRENTLY ${name} ON ${definition}`);
  });
}

/**
 * A CONCURRENTLY build waits for every older transaction on its table, and lock_timeout would end
 * that wait and leave the index invalid. Its own table lock blocks no reads or writes, so no query
 * queues behind it while it waits: the runner's lock_timeout is lifted for it.
 */
async function withoutLockTimeout(queryRunner: QueryRunner, work: () => Promise<void>): Promise<void> {
  const [{ lock_timeout: before }] = (await queryRunner.query(`SHOW lock_timeout`)) as Array<{
    lock_timeout: string;
  }>;
  await queryRunner.query(`SET lock_timeout = 0`);
  try {
    await work();
  } finally {
    await queryRunner.query(`SELECT set_config('lock_timeout', $1, false)`, [before]);
  }
}
