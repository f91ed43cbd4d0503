import { Client } from 'pg';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { createDatabase, type BenchDatabase } from '../../bench/lib/db';
import { dataSourceOptions } from '../../src/database/data-source';
import { runMigrationsExclusively } from '../../src/database/exclusive-migrations';
import { MIGRATIONS } from '../../src/database/migrations';

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

async function open(url: string, migrations: DataSource['options']['migrations']): Promise<DataSource> {
  return new DataSource({ ...dataSourceOptions(url), migrations }).initialize();
}

async function client(url: string): Promise<Client> {
  const connected = new Client({ connectionString: url });
  await connected.connect();
  return connected;
}

describe('runMigrationsExclusively', () => {
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

  it('lets two runners started at once on an empty database both succeed, each migration applied once', async () => {
    const first = await open(database.url, MIGRATIONS);
    const second = await open(database.url, MIGRATIONS);
    opened.push(first, second);

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

  it('gives up on a table lock after lock_timeout and runs again once the lock is free', async () => {
    const migrated = await open(database.url, MIGRATIONS);
    opened.push(migrated);
    await runMigrationsExclusively(migrated);
    await migrated.query(`CREATE TABLE lock_probe (a int)`);
    const reader = await client(database.url);
    opened.push(reader);
    await reader.query(`BEGIN`);
    await reader.query(`SELECT * FROM lock_probe`);

    const withProbe = await open(database.url, [...MIGRATIONS, LockProbe1999999999999]);
    opened.push(withProbe);
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
    const migrated = await open(database.url, MIGRATIONS);
    opened.push(migrated);
    await runMigrationsExclusively(migrated);
    await migrated.query(`CREATE TABLE lock_probe (a int)`);
    const reader = await client(database.url);
    opened.push(reader);
    await reader.query(`BEGIN`);
    await reader.query(`SELECT * FROM lock_probe`);

    const withProbe = await open(database.url, [...MIGRATIONS, LockProbe1999999999999]);
    opened.push(withProbe);
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
});
