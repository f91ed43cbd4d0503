import type { DataSource } from 'typeorm';
import { createDatabase } from '../../bench/lib/db';
import { createDataSource } from '../../src/database/data-source';
import { runMigrationsExclusively } from '../../src/database/exclusive-migrations';

export { BASE_DATABASE_URL } from '../../bench/lib/db';

export interface TestDatabase {
  url: string;
  name: string;
  /** Opens a TypeORM DataSource on the test database (migrations already applied). */
  connect(): Promise<DataSource>;
  drop(): Promise<void>;
}

/** A fresh database per test file, migrated exactly as production is (no `synchronize`). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const database = await createDatabase('hs_test');
  const { url, name } = database;
  const dataSource = createDataSource(url);
  await dataSource.initialize();
  await runMigrationsExclusively(dataSource);
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
      await database.drop();
    },
  };
}
