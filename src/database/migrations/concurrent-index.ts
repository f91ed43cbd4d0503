import type { QueryRunner } from 'typeorm';
import { backendActivity, describeBackend, type RunQuery } from '../backend-activity';

export interface ConcurrentBuildWait {
  /** How long to wait for another session's build of the same index to finish. */
  timeoutMs?: number;
  pollMs?: number;
  /** How often a build that has not ended logs what it waits on. */
  reportEveryMs?: number;
}

/**
 * The pid of a session building index `i` (a pg_index row) in this database, or null. Another
 * role's build shows neither relid nor index_relid unless this role has pg_read_all_stats; such a
 * build counts when it holds a lock on the index's table, so it is waited for, never dropped.
 */
export const BUILDER_OF_INDEX = `(SELECT p.pid FROM pg_stat_progress_create_index p
   WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND (p.index_relid = i.indexrelid
          OR (p.index_relid IS NULL AND EXISTS (SELECT 1 FROM pg_locks l
                WHERE l.pid = p.pid AND l.locktype = 'relation' AND l.relation = i.indrelid)))
   LIMIT 1)`;

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
  { timeoutMs = 30 * 60_000, pollMs = 1000, reportEveryMs = 60_000 }: ConcurrentBuildWait = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let nextReport = Date.now() + reportEveryMs;
  let left: { valid: boolean; builder: number | null } | undefined;
  for (;;) {
    [left] = (await queryRunner.query(
      `SELECT i.indisvalid AS valid, ${BUILDER_OF_INDEX} AS builder
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = $1 AND pg_table_is_visible(c.oid)`,
      [name],
    )) as Array<{ valid: boolean; builder: number | null }>;
    if (left?.valid === true) return;
    if (left?.builder == null) break;
    if (Date.now() >= deadline) {
      throw new Error(
        `index ${name} is still being built by another session after ${timeoutMs} ms; ` +
          `run the migrations again once that build has ended`,
      );
    }
    if (Date.now() >= nextReport) {
      await reportBuild(queryRunner, name, left.builder, 'another session builds it');
      nextReport = Date.now() + reportEveryMs;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const [{ pid }] = (await queryRunner.query(`SELECT pg_backend_pid() AS pid`)) as Array<{ pid: number }>;
  await withoutLockTimeout(queryRunner, () =>
    reportingEvery(
      reportEveryMs,
      () => reportBuild(queryRunner, name, pid, 'building'),
      async () => {
        if (left) await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
        await queryRunner.query(`CREATE INDEX CONCURRENTLY ${name} ON ${definition}`);
      },
    ),
  );
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

/** Runs `work`, calling `report` every `everyMs` until it ends; a report never overlaps the next. */
async function reportingEvery(
  everyMs: number,
  report: () => Promise<void>,
  work: () => Promise<void>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const schedule = (): void => {
    timer = setTimeout(() => {
      void report().finally(() => {
        if (!ended) schedule();
      });
    }, everyMs);
  };
  schedule();
  try {
    await work();
  } finally {
    ended = true;
    clearTimeout(timer);
  }
}

/**
 * Logs what build `pid` waits on: its phase, and the sessions it waits for (pg_blocking_pids, or the
 * progress view's current locker while it waits out older transactions). The build's own connection
 * is busy with it, so this reads on another from the pool. A report that fails is logged, not thrown:
 * the build goes on either way.
 */
async function reportBuild(
  queryRunner: QueryRunner,
  name: string,
  pid: number,
  doing: string,
): Promise<void> {
  const dataSource = queryRunner.connection;
  const query: RunQuery = (sql, parameters) => dataSource.query(sql, parameters);
  try {
    const [progress] = (await query(
      `SELECT p.phase, p.lockers_done, p.lockers_total, p.current_locker_pid,
              floor(extract(epoch FROM clock_timestamp() - a.query_start))::int AS seconds
         FROM pg_stat_progress_create_index p JOIN pg_stat_activity a ON a.pid = p.pid
        WHERE p.pid = $1`,
      [pid],
    )) as Array<{
      phase: string;
      lockers_done: string;
      lockers_total: string;
      current_locker_pid: string;
      seconds: number;
    }>;
    if (!progress) return;
    const [builder] = await backendActivity(query, [pid]);
    const waitedOn = new Set(builder?.blockedBy ?? []);
    if (Number(progress.current_locker_pid) > 0) waitedOn.add(Number(progress.current_locker_pid));
    const waits = await backendActivity(query, [...waitedOn]);
    dataSource.logger.log(
      'warn',
      `index ${name}: ${doing} for ${progress.seconds} s (pid ${pid}), phase "${progress.phase}"` +
        (Number(progress.lockers_total) > 0
          ? `, lockers ${progress.lockers_done}/${progress.lockers_total}`
          : '') +
        (waits.length > 0
          ? `; waits for ${waits.map(describeBackend).join('; ')}`
          : '; waits for no session'),
      queryRunner,
    );
  } catch (error) {
    dataSource.logger.log(
      'warn',
      `index ${name}: could not read what its build waits on: ${(error as Error).message}`,
    );
  }
}
