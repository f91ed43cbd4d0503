import { Client } from 'pg';
import { DataSource, type Logger, type QueryRunner } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source';
import { createIndexConcurrently } from '../../src/database/migrations/concurrent-index';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { GiveUp, waitFor } from '../support/wait';

/**
 * Another session's CREATE INDEX CONCURRENTLY, held in its first wait by a writer transaction on
 * the table: until the writer ends, the index is in pg_index and invalid, as a build in progress is.
 */
interface HeldBuild {
  writer: Client;
  builder: Client;
  built: Promise<unknown>;
  indexOid: string;
}

/** TypeORM's `log` lines about index builds, where createIndexConcurrently reports a build that waits. */
class LogLines implements Logger {
  readonly lines: string[] = [];
  logQuery(): void {}
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    // TypeORM's own lines (the entity glob at initialize) are not the subject here.
    if (String(message).startsWith('index ')) this.lines.push(`${level} ${String(message)}`);
  }
}

describe('createIndexConcurrently', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let queryRunner: QueryRunner;
  const clients: Client[] = [];
  const closers: Array<() => Promise<void>> = [];
  let table = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
  });
  beforeEach(async () => {
    table += 1;
    queryRunner = dataSource.createQueryRunner();
    await queryRunner.connect();
    await queryRunner.query(`CREATE TABLE build_probe_${table} (a int)`);
    await queryRunner.query(`INSERT INTO build_probe_${table} SELECT generate_series(1, 1000)`);
  });
  afterEach(async () => {
    await queryRunner.release();
    for (const client of clients.splice(0)) await client.end();
    for (const close of closers.splice(0).reverse()) await close();
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function pidOf(client: Client): Promise<number> {
    return (await client.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`)).rows[0].pid;
  }

  /** A query runner whose DataSource logs into `log`. */
  async function loggingRunner(log: LogLines): Promise<QueryRunner> {
    const logging = await new DataSource({ ...dataSourceOptions(database.url), logger: log }).initialize();
    closers.push(() => logging.destroy());
    const runner = logging.createQueryRunner();
    await runner.connect();
    closers.push(() => runner.release());
    return runner;
  }

  async function connect(): Promise<Client> {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    clients.push(client);
    return client;
  }

  async function indexOid(name: string): Promise<string | undefined> {
    const rows = await dataSource.query<Array<{ oid: string; valid: boolean }>>(
      `SELECT i.indexrelid::int8::text AS oid, i.indisvalid AS valid
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`,
      [name],
    );
    return rows[0]?.valid ? `${rows[0].oid} valid` : rows[0] && `${rows[0].oid} invalid`;
  }

  async function holdBuild(name: string): Promise<HeldBuild> {
    const writer = await connect();
    await writer.query(`BEGIN`);
    await writer.query(`INSERT INTO build_probe_${table} VALUES (0)`);
    const builder = await connect();
    const built = builder.query(`CREATE INDEX CONCURRENTLY ${name} ON build_probe_${table} (a)`);
    built.catch(() => undefined);
    const seen = await waitFor(() => indexOid(name), { what: `the build of ${name} to start` });
    expect(seen).toMatch(/ invalid$/);
    return { writer, builder, built, indexOid: seen.replace(/ invalid$/, '') };
  }

  /** The helper's backend has moved past `SELECT pg_backend_pid()`: it has looked at the index. */
  async function helperLooked(pid: number): Promise<boolean> {
    const [row] = await dataSource.query<Array<{ query: string }>>(
      `SELECT query FROM pg_stat_activity WHERE pid = $1`,
      [pid],
    );
    return row !== undefined && !row.query.includes('pg_backend_pid');
  }

  it('waits for another session building the same index and keeps its index', async () => {
    const name = `build_probe_${table}_idx`;
    const held = await holdBuild(name);
    const [{ pid }] = (await queryRunner.query(`SELECT pg_backend_pid() AS pid`)) as Array<{
      pid: number;
    }>;

    const helper = createIndexConcurrently(queryRunner, name, `build_probe_${table} (a)`, {
      pollMs: 50,
      timeoutMs: 30_000,
    });
    helper.catch(() => undefined);
    await waitFor(() => helperLooked(pid), { what: 'the helper to look at the index' });
    await held.writer.query(`COMMIT`);

    await expect(held.built).resolves.toBeDefined();
    await expect(helper).resolves.toBeUndefined();
    expect(await indexOid(name)).toBe(`${held.indexOid} valid`);
  });

  it('gives up at its deadline while the build goes on, without dropping the index', async () => {
    const name = `build_probe_${table}_idx`;
    const held = await holdBuild(name);

    await expect(
      createIndexConcurrently(queryRunner, name, `build_probe_${table} (a)`, {
        pollMs: 50,
        timeoutMs: 300,
      }),
    ).rejects.toThrow(`index ${name} is still being built by another session`);

    await held.writer.query(`COMMIT`);
    await expect(held.built).resolves.toBeDefined();
    expect(await indexOid(name)).toBe(`${held.indexOid} valid`);
  });

  it('drops and rebuilds an index a failed build left invalid', async () => {
    const name = `build_probe_${table}_idx`;
    await queryRunner.query(`INSERT INTO build_probe_${table} VALUES (1)`);
    const failed = await connect();
    await expect(
      failed.query(`CREATE UNIQUE INDEX CONCURRENTLY ${name} ON build_probe_${table} (a)`),
    ).rejects.toMatchObject({ code: '23505' });
    const left = await indexOid(name);
    expect(left).toMatch(/ invalid$/);

    await createIndexConcurrently(queryRunner, name, `build_probe_${table} (a)`);

    const rebuilt = await indexOid(name);
    expect(rebuilt).toMatch(/ valid$/);
    expect(rebuilt?.split(' ')[0]).not.toBe(left?.split(' ')[0]);
  });

  it('waits for older transactions however long, even under the runner’s lock_timeout', async () => {
    const name = `build_probe_${table}_idx`;
    const writer = await connect();
    await writer.query(`BEGIN`);
    await writer.query(`INSERT INTO build_probe_${table} VALUES (0)`);
    await queryRunner.query(`SET lock_timeout = '100ms'`);
    const [{ pid }] = (await queryRunner.query(`SELECT pg_backend_pid() AS pid`)) as Array<{
      pid: number;
    }>;

    let failed: Error | undefined;
    const helper = createIndexConcurrently(queryRunner, name, `build_probe_${table} (a)`);
    helper.catch((error: Error) => void (failed = error));
    // Past lock_timeout several times over, the build is still waiting for the writer.
    await waitFor(
      async () => {
        if (failed) throw new GiveUp(`the build failed while waiting: ${failed.message}`);
        const [row] = await dataSource.query<Array<{ waited: boolean }>>(
          `SELECT now() - query_start > interval '500 ms' AS waited FROM pg_stat_activity
            WHERE pid = $1 AND state = 'active' AND query LIKE 'CREATE INDEX CONCURRENTLY%'`,
          [pid],
        );
        return row?.waited;
      },
      { what: 'the build to wait past lock_timeout' },
    );
    await writer.query(`COMMIT`);

    await expect(helper).resolves.toBeUndefined();
    expect(await indexOid(name)).toMatch(/ valid$/);
    const [{ lock_timeout }] = (await queryRunner.query(`SHOW lock_timeout`)) as Array<{
      lock_timeout: string;
    }>;
    expect(lock_timeout).toBe('100ms');
  });

  it('logs at each interval what its waiting build waits on: the phase and the session holding it up', async () => {
    const name = `build_probe_${table}_idx`;
    const writer = await connect();
    await writer.query(`BEGIN`);
    await writer.query(`INSERT INTO build_probe_${table} VALUES (0)`);
    const writerPid = await pidOf(writer);
    const log = new LogLines();
    const runner = await loggingRunner(log);
    const [{ pid: builderPid }] = (await runner.query(`SELECT pg_backend_pid() AS pid`)) as Array<{
      pid: number;
    }>;

    const helper = createIndexConcurrently(runner, name, `build_probe_${table} (a)`, { reportEveryMs: 200 });
    helper.catch(() => undefined);
    await waitFor(() => log.lines.length >= 2, {
      what: () => `two reports, got ${JSON.stringify(log.lines)}`,
    });
    await writer.query(`COMMIT`);
    await expect(helper).resolves.toBeUndefined();

    for (const line of log.lines.slice(0, 2)) {
      expect(line).toMatch(
        new RegExp(
          `^warn index ${name}: building for \\d+ s \\(pid ${builderPid}\\), phase "waiting for writers before build", ` +
            `lockers 0/1; waits for pid ${writerPid} \\(idle in transaction, query started `,
        ),
      );
    }
  });

  it('logs at each interval the other session whose build of the same index it waits for', async () => {
    const name = `build_probe_${table}_idx`;
    const held = await holdBuild(name);
    const writerPid = await pidOf(held.writer);
    // The builder's connection is busy with its build: its pid is read from another.
    const [{ pid: heldBuilderPid }] = await dataSource.query<Array<{ pid: number }>>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE $1`,
      [`CREATE INDEX CONCURRENTLY ${name} %`],
    );
    const log = new LogLines();
    const runner = await loggingRunner(log);

    const helper = createIndexConcurrently(runner, name, `build_probe_${table} (a)`, {
      pollMs: 50,
      reportEveryMs: 200,
    });
    helper.catch(() => undefined);
    await waitFor(() => log.lines.length >= 2, {
      what: () => `two reports, got ${JSON.stringify(log.lines)}`,
    });
    await held.writer.query(`COMMIT`);
    await expect(helper).resolves.toBeUndefined();

    expect(log.lines[0]).toMatch(
      new RegExp(
        `^warn index ${name}: another session builds it for \\d+ s \\(pid ${heldBuilderPid}\\), ` +
          `phase "waiting for writers before build", lockers 0/1; waits for pid ${writerPid} \\(idle in transaction, `,
      ),
    );
  });
});
