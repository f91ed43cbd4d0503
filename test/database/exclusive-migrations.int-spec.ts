import { Client } from 'pg';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { createDatabase, type BenchDatabase } from '../../bench/lib/db';
import { dataSourceOptions } from '../../src/database/data-source';
import {
  applyMigrations,
  MIGRATION_LOCK_KEY,
  MigrationLockWaitExpired,
  runMigrationsExclusively,
  type MigrationLockHolder,
} from '../../src/database/exclusive-migrations';
import { MIGRATIONS } from '../../src/database/migrations';
import { createIndexConcurrently } from '../../src/database/migrations/concurrent-index';
import { waitFor } from '../support/wait';

/** A later migration that needs ACCESS EXCLUSIVE on a table the test keeps a reader on. */
class LockProbe1999999999999 implements MigrationInterface {
  name = 'LockProbe1999999999999';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE lock_probe ADD COLUMN b int`);
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE lock_probe DROP COLUMN b`);
  }
}

/** A later migration whose CREATE INDEX CONCURRENTLY waits while a writer's transaction stays open. */
class SlowIndex1999999999999 implements MigrationInterface {
  name = 'SlowIndex1999999999999';
  transaction = false as const;
  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(queryRunner, 'slow_probe_a', 'slow_probe (a)');
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS slow_probe_a`);
  }
}

async function backendPid(session: Client): Promise<number> {
  const [{ pid }] = (await session.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows;
  return pid;
}

/** The DataSource's query runners reject `statement` (a matching SQL text) without sending it. */
function failing(dataSource: DataSource, statement: string): void {
  const create = dataSource.createQueryRunner.bind(dataSource);
  jest.spyOn(dataSource, 'createQueryRunner').mockImplementation((mode) => {
    const runner = create(mode);
    const query = runner.query.bind(runner);
    runner.query = (sql: string, ...rest: unknown[]) =>
      sql.includes(statement)
        ? Promise.reject(new Error(`${statement} failed`))
        : (query as (sql: string, ...rest: unknown[]) => Promise<unknown>)(sql, ...rest);
    return runner;
  });
}

/**
 * Registers the hooks of a describe block: before each test an empty database; after it, what the
 * test opened on it closed (in the order opened) and the database dropped.
 */
function emptyDatabasePerTest() {
  const opened: Array<DataSource | Client> = [];
  let database: BenchDatabase;
  beforeEach(async () => {
    database = await createDatabase('hs_test');
  });
  afterEach(async () => {
    for (const connection of opened.splice(0)) {
      if (connection instanceof DataSource) {
        if (connection.isInitialized) await connection.destroy();
      } else await connection.end();
    }
    await database.drop();
  });
  /**
   * A DataSource on the test database whose migrations are `migrations`; none applied yet. `pool`
   * overrides the pool's settings.
   */
  async function open(
    migrations: DataSource['options']['migrations'],
    pool: Record<string, unknown> = {},
  ): Promise<DataSource> {
    const options = dataSourceOptions(database.url);
    const dataSource = await new DataSource({
      ...options,
      migrations,
      extra: { ...(options.extra as object), ...pool },
    }).initialize();
    opened.push(dataSource);
    return dataSource;
  }
  return {
    open,
    /** A DataSource on the test database with MIGRATIONS applied. */
    async migrated(): Promise<DataSource> {
      const dataSource = await open(MIGRATIONS);
      await runMigrationsExclusively(dataSource);
      return dataSource;
    },
    /** A plain pg session on the test database that has run `statements`. */
    async session(...statements: string[]): Promise<Client> {
      const session = new Client({ connectionString: database.url });
      await session.connect();
      opened.push(session);
      for (const statement of statements) await session.query(statement);
      return session;
    },
  };
}

describe('runMigrationsExclusively', () => {
  const database = emptyDatabasePerTest();

  /**
   * The migrated database with a table lock_probe, a reader holding it in an open transaction, and
   * a DataSource whose LockProbe1999999999999 needs ACCESS EXCLUSIVE on it.
   */
  async function lockProbeBehindReader() {
    const migrated = await database.migrated();
    await migrated.query(`CREATE TABLE lock_probe (a int)`);
    const reader = await database.session(`BEGIN`, `SELECT * FROM lock_probe`);
    const withProbe = await database.open([...MIGRATIONS, LockProbe1999999999999]);
    return { migrated, reader, withProbe };
  }

  it('lets two runners started at once on an empty database both succeed, each migration applied once', async () => {
    const first = await database.open(MIGRATIONS);
    const second = await database.open(MIGRATIONS);

    const runs = await Promise.allSettled([
      runMigrationsExclusively(first),
      runMigrationsExclusively(second),
    ]);

    expect(runs.map((run) => (run.status === 'rejected' ? String(run.reason) : 'ok'))).toEqual(['ok', 'ok']);
    const applied = runs.flatMap((run) => (run.status === 'fulfilled' ? run.value : []));
    expect(applied.map((migration) => migration.name).sort()).toEqual(
      MIGRATIONS.map((migration) => migration.name).sort(),
    );
    const recorded = await first.query<Array<{ name: string; times: number }>>(
      `SELECT name, count(*)::int AS times FROM migrations GROUP BY name`,
    );
    expect(recorded).toHaveLength(MIGRATIONS.length);
    expect(recorded.filter((row) => row.times !== 1)).toEqual([]);
    // The lock is released: a third run takes it at once and finds nothing to do.
    expect(await runMigrationsExclusively(first)).toEqual([]);
  });

  it.each(['pg_advisory_unlock', 'RESET lock_timeout'])(
    'leaves neither its lock nor its lock_timeout on a pooled connection when %s fails',
    async (statement) => {
      // One connection: after the run, the DataSource queries on the run's session if it was pooled.
      const migrated = await database.open([], { max: 1 });
      const other = await database.session();
      const [{ lock_timeout: lockTimeout }] =
        await migrated.query<Array<{ lock_timeout: string }>>(`SHOW lock_timeout`);
      failing(migrated, statement);

      await expect(runMigrationsExclusively(migrated, { lockTimeout: '3s' })).rejects.toThrow(
        `${statement} failed`,
      );

      await waitFor(
        async () =>
          (
            await other.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [
              MIGRATION_LOCK_KEY,
            ])
          ).rows[0].locked,
        { timeoutMs: 5000, what: 'the migration lock to be free' },
      );
      expect(await migrated.query(`SHOW lock_timeout`)).toEqual([{ lock_timeout: lockTimeout }]);
    },
  );

  it('gives up on a table lock after lock_timeout and runs again once the lock is free', async () => {
    const { reader, withProbe } = await lockProbeBehindReader();

    const retries: string[] = [];
    const applied = await runMigrationsExclusively(withProbe, {
      lockTimeout: '200ms',
      attempts: 3,
      firstBackoffMs: 50,
      onRetry: (error) => {
        retries.push((error as Error & { code?: string }).code ?? error.message);
        void reader.query(`COMMIT`);
      },
    });

    expect(retries).toEqual(['55P03']);
    expect(applied.map((migration) => migration.name)).toEqual(['LockProbe1999999999999']);
    const columns = await withProbe.query<Array<{ column_name: string }>>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'lock_probe' ORDER BY 1`,
    );
    expect(columns.map((column) => column.column_name)).toEqual(['a', 'b']);
    const [{ lock_timeout }] = await withProbe.query<Array<{ lock_timeout: string }>>(`SHOW lock_timeout`);
    expect(lock_timeout).toBe('0');
  });

  it('fails after its bounded retries while the lock stays taken, and records nothing', async () => {
    const { migrated, reader, withProbe } = await lockProbeBehindReader();

    let retries = 0;
    await expect(
      runMigrationsExclusively(withProbe, {
        lockTimeout: '100ms',
        attempts: 3,
        firstBackoffMs: 20,
        onRetry: () => void (retries += 1),
      }),
    ).rejects.toMatchObject({ code: '55P03' });

    expect(retries).toBe(2);
    const recorded = await migrated.query<unknown[]>(
      `SELECT 1 FROM migrations WHERE name = 'LockProbe1999999999999'`,
    );
    expect(recorded).toEqual([]);
    await reader.query(`ROLLBACK`);
    // The failed run let go of the migration lock: the next one applies the migration.
    expect((await runMigrationsExclusively(withProbe)).map((migration) => migration.name)).toEqual([
      'LockProbe1999999999999',
    ]);
  });

  it('gives up on the migration lock at its deadline, naming the holder and what the holder waits for', async () => {
    const migrated = await database.migrated();
    await migrated.query(`CREATE TABLE slow_probe (a int)`);
    // The review's case: a session idle in its transaction holds up the first runner's CIC.
    const idle = await database.session(`BEGIN`, `INSERT INTO slow_probe VALUES (1)`);
    const idlePid = await backendPid(idle);

    const first = await database.open([...MIGRATIONS, SlowIndex1999999999999]);
    const second = await database.open([...MIGRATIONS, SlowIndex1999999999999]);
    const firstRun = runMigrationsExclusively(first);
    firstRun.catch(() => undefined);
    const builderPid = await waitFor(
      async () => {
        const [row] = await migrated.query<Array<{ pid: number }>>(
          `SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY slow_probe_a%'`,
        );
        return row?.pid;
      },
      { what: 'the first runner to start its CREATE INDEX CONCURRENTLY' },
    );

    const reports: Array<{ holder: MigrationLockHolder; waitedMs: number }> = [];
    const started = Date.now();
    const failed = await runMigrationsExclusively(second, {
      lockPollMs: 50,
      lockWaitMs: 1500,
      lockWaitReportMs: 400,
      onWaitForLock: (holder, waitedMs) => reports.push({ holder, waitedMs }),
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const waitedMs = Date.now() - started;

    expect(failed).toBeInstanceOf(MigrationLockWaitExpired);
    const error = failed as MigrationLockWaitExpired;
    expect(error.holderPid).toBe(builderPid);
    expect(error.message).toContain('gave up waiting for the migration lock after');
    expect(error.message).toContain(`held by pid ${builderPid} (active, query started `);
    expect(error.message).toContain('CREATE INDEX CONCURRENTLY slow_probe_a');
    expect(error.message).toContain(`which waits for pid ${idlePid} (idle in transaction, query started `);
    expect(waitedMs).toBeGreaterThanOrEqual(1500);
    expect(waitedMs).toBeLessThan(10_000);
    // Told at once and again while it waited, each time with the same holder.
    expect(reports.length).toBeGreaterThanOrEqual(3);
    expect(reports[0].waitedMs).toBeLessThan(400);
    expect(reports.map((report) => report.holder.holder?.pid)).toEqual(reports.map(() => builderPid));
    expect(reports.map((report) => report.holder.waitingFor.map((backend) => backend.pid))).toEqual(
      reports.map(() => [idlePid]),
    );

    // Once the idle session ends, the first runner finishes and a later runner finds nothing to do.
    await idle.query(`COMMIT`);
    expect((await firstRun).map((migration) => migration.name)).toEqual(['SlowIndex1999999999999']);
    expect(await runMigrationsExclusively(second, { lockWaitMs: 1500 })).toEqual([]);
  });

  it('logs who holds the migration lock when it starts waiting and at each interval, then fails the run', async () => {
    const migrated = await database.migrated();
    const holder = await database.session();
    await holder.query(`SELECT pg_advisory_lock(hashtext($1))`, [MIGRATION_LOCK_KEY]);
    const holderPid = await backendPid(holder);

    const lines: string[] = [];
    const run = applyMigrations(
      migrated,
      { info: (message) => lines.push(`info ${message}`), warn: (message) => lines.push(`warn ${message}`) },
      { lockWaitMs: 2000, lockWaitReportMs: 500 },
    );

    await expect(run).rejects.toThrow(
      new RegExp(
        `^gave up waiting for the migration lock after \\d+ ms \\(HOOKSTREAM_MIGRATION_LOCK_WAIT\\): held by pid ${holderPid} \\(idle, query started `,
      ),
    );
    expect(lines[0]).toMatch(
      new RegExp(
        `^info another runner holds the migration lock; waited 0 s of 2 s: held by pid ${holderPid} \\(idle, `,
      ),
    );
    const later = lines.slice(1);
    expect(later.length).toBeGreaterThanOrEqual(2);
    for (const line of later) {
      expect(line).toMatch(
        new RegExp(
          `^warn another runner holds the migration lock; waited \\d s of 2 s: held by pid ${holderPid} `,
        ),
      );
    }
    // The holder lets go: the next run takes the lock at once.
    await holder.query(`SELECT pg_advisory_unlock_all()`);
    expect(
      await applyMigrations(migrated, { info: () => undefined, warn: () => undefined }, { lockWaitMs: 1000 }),
    ).toEqual([]);
  });
});
