/**
 * Review 6 F1 as an operator meets it: a runner that holds the migration lock and never lets go (its
 * CREATE INDEX CONCURRENTLY behind a session idle in a transaction) no longer holds every booting
 * replica and `npm run migration:run` in the wait for good. Each gives up after
 * HOOKSTREAM_MIGRATION_LOCK_WAIT and names the holder.
 */
import { join } from 'node:path';
import { Client } from 'pg';
import { MIGRATION_LOCK_KEY } from '../../src/database/exclusive-migrations';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { TEST_BROKERS } from '../support/kafka';
import { ADMIN_TOKEN, SECRET_KEY, runServiceExpectingFailure, runToExit } from '../support/service';

const ROOT = join(__dirname, '..', '..');

/** `npm run migration:run` without its prebuild: the built dist/database/migrate.js. */
function runMigrate(
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  return runToExit([join(ROOT, 'dist', 'database', 'migrate.js')], env, 'migrate.js', timeoutMs);
}

describe('HOOKSTREAM_MIGRATION_LOCK_WAIT', () => {
  let database: TestDatabase;
  let holder: Client;
  let holderPid: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    holder = new Client({ connectionString: database.url });
    await holder.connect();
    await holder.query(`SELECT pg_advisory_lock(hashtext($1))`, [MIGRATION_LOCK_KEY]);
    holderPid = (await holder.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows[0].pid;
  });
  afterAll(async () => {
    await holder?.end();
    await database?.drop();
  });

  it('fails the boot after the wait, naming the pid that holds the migration lock', async () => {
    const started = Date.now();
    const { code, output } = await runServiceExpectingFailure({
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      DATABASE_URL: database.url,
      HOOKSTREAM_ADMIN_TOKEN: ADMIN_TOKEN,
      HOOKSTREAM_SECRET_KEY: SECRET_KEY,
      HOOKSTREAM_WORKERS: '1',
      HOOKSTREAM_MIGRATION_LOCK_WAIT: '3s',
    });

    expect(code).toBe(1);
    expect(output).toContain(
      `another runner holds the migration lock; waited 0 s of 3 s: held by pid ${holderPid} (idle, `,
    );
    expect(output).toMatch(
      new RegExp(
        `startup failed: gave up waiting for the migration lock after \\d+ ms \\(HOOKSTREAM_MIGRATION_LOCK_WAIT\\): ` +
          `held by pid ${holderPid} \\(idle, query started `,
      ),
    );
    // Once: the boot does not run the whole wait again (@nestjs/typeorm's retry would).
    expect(output.match(/waited 0 s of 3 s/g)).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('fails `npm run migration:run` after the wait, naming the same pid', async () => {
    const { code, output } = await runMigrate({
      DATABASE_URL: database.url,
      HOOKSTREAM_MIGRATION_LOCK_WAIT: '2s',
    });

    expect(code).toBe(1);
    expect(output).toContain(
      `another runner holds the migration lock; waited 0 s of 2 s: held by pid ${holderPid}`,
    );
    expect(output).toMatch(
      new RegExp(`gave up waiting for the migration lock after \\d+ ms .*held by pid ${holderPid} \\(idle, `),
    );
  });
});
