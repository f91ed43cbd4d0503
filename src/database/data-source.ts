import { join } from 'node:path';
import type { Logger } from 'pino';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations';
import { PinoQueryLogger } from './query-logger';

/** Every `*.entity` file of the feature modules that own them, found by name so this floor imports none. */
const ENTITY_FILES = join(__dirname, '..', '**', '*.entity.{ts,js}');

/** The one TypeORM setup: the service, `npm run migration:run` and the tests all build it here. */
/**
 * Without `logger` TypeORM logs failed queries to the console, parameters included; the service and
 * the tools pass theirs (PinoQueryLogger logs no parameter).
 */
export function dataSourceOptions(databaseUrl: string, logger?: Logger): DataSourceOptions {
  return {
    type: 'postgres',
    url: databaseUrl,
    entities: [ENTITY_FILES],
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
    ...(logger ? { logger: new PinoQueryLogger(logger.child({ component: 'typeorm' })) } : {}),
    // Keepalive: a connection a failover or a partition left half-open is found by the operating
    // system after minutes rather than the two hours its default idle time would take.
    extra: {
      max: 10,
      connectionTimeoutMillis: 5000,
      application_name: 'hookstream',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    },
  };
}

export function createDataSource(databaseUrl: string, logger?: Logger): DataSource {
  return new DataSource(dataSourceOptions(databaseUrl, logger));
}
