import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../../src/database/data-source';

export const BASE_DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://hookstream:hookstream@127.0.0.1:5432/hookstream';

export interface TestDatabase {
  url: string;
  name: string;
  /** Opens a TypeORM DataSource on the test database (migrations already applied). */
  connect(): Promise<DataSource>;
  drop(): Promise<void>;
}

/** A fresh database per test file, migrated exactly as production is (no `synchronize`). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `hs_test_${randomBytes(6).toString('hex')}`;
  await withAdminClient((client) => client.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(BASE_DATABASE_URL, name);
  const dataSource = createDataSource(url);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
  const opened: DataSource[] = [];
  return {
    url,
    name,
    async connect() {
      const ds = createDataSource(url);
      await ds.initialize();
      opened.push(ds);
      return ds;
    },
    async drop() {
      await Promise.all(opened.filter((ds) => ds.isInitialized).map((ds) => ds.destroy()));
      await withAdminClient((client) => dropDatabase(client, name));
    },
  };
}

/**
 * DROP DATABASE WITH (FORCE) refuses (42501) when a backend of another role is connected, which an
 * autovacuum worker analysing the test's writes is (seen once in a clean-clone run); a plain DROP
 * stops autovacuum on the database itself. Either is retried briefly while the database is in use.
 */
async function dropDatabase(client: Client, name: string): Promise<void> {
  let force = true;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name}${force ? ' WITH (FORCE)' : ''}`);
      return;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 20 || (code !== '42501' && code !== '55006')) throw error;
      if (code === '42501') force = false;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function withAdminClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: BASE_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
