import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const BASE_DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://hookstream:hookstream@127.0.0.1:5432/hookstream';

export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh, empty database; the service applies its migrations at boot (the tests' support, at once). */
export async function createDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    url: databaseUrl(name),
    name,
    drop: () => withAdmin((client) => dropDatabase(client, name)),
  };
}

/**
 * DROP DATABASE WITH (FORCE) refuses (42501) when a backend of another role is connected, which an
 * autovacuum worker analysing the run's writes is (seen in clean-clone runs, by the tests and by the
 * bench smoke's ingest phase); a plain DROP stops autovacuum on the database itself. Either is
 * retried briefly while the database is in use. The tests' databases (test/support/database.ts)
 * are made and dropped here too.
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

/** BASE_DATABASE_URL with another database named in it. */
function databaseUrl(name: string): string {
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `work` on a client of the base database (CREATE and DROP DATABASE), closed afterwards. */
async function withAdmin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: BASE_DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
