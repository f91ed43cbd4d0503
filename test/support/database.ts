import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { dropDatabase } from '../../bench/lib/db';
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
