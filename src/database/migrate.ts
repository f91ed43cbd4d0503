import { loadConfig } from '../config/config';
import { createLogger } from '../common/logger';
import { createDataSource } from './data-source';
import { applyMigrations } from './exclusive-migrations';

/** `npm run migration:run`: applies pending migrations and exits; the service does the same at boot. */
async function main(): Promise<void> {
  const config = loadConfig({
    HOOKSTREAM_ADMIN_TOKEN: 'x'.repeat(16),
    HOOKSTREAM_SECRET_KEY: 'x'.repeat(32),
    ...process.env,
  });
  // Pino, as the service: a build's wait reports (createIndexConcurrently) go through TypeORM's logger.
  const dataSource = createDataSource(config.databaseUrl, createLogger(config.logLevel));
  await dataSource.initialize();
  try {
    const applied = await applyMigrations(
      dataSource,
      {
        info: (message) => console.log(message),
        warn: (message) => console.warn(message),
      },
      { lockWaitMs: config.migrationLockWaitMs },
    );
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
