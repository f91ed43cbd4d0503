import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.module';
import { dataSourceOptions } from './data-source';
import { applyMigrations, MigrationLockWaitExpired } from './exclusive-migrations';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG, LOGGER],
      useFactory: (config: AppConfig, logger: Logger) => ({
        ...dataSourceOptions(config.databaseUrl, logger),
        // Not TypeORM's migrationsRun, which takes no lock: the factory below runs them under one.
        runMigrations: config.runMigrations,
        migrationLockWaitMs: config.migrationLockWaitMs,
        // Fail fast at boot instead of retrying for minutes; readiness reports later outages.
        retryAttempts: 2,
        retryDelay: 1000,
        // A run that waited its whole HOOKSTREAM_MIGRATION_LOCK_WAIT fails the boot at once.
        toRetry: (error: Error) => !(error instanceof MigrationLockWaitExpired),
      }),
      // Nothing gets the DataSource before its migrations are applied, as with migrationsRun.
      dataSourceFactory: async (options?: DataSourceOptions) => {
        const { runMigrations, migrationLockWaitMs, ...typeorm } = options as DataSourceOptions & {
          runMigrations: boolean;
          migrationLockWaitMs: number;
        };
        const dataSource = await new DataSource(typeorm).initialize();
        if (!runMigrations) return dataSource;
        try {
          const log = dataSource.logger;
          const applied = await applyMigrations(
            dataSource,
            {
              info: (message) => {
                log.log('info', message);
              },
              warn: (message) => {
                log.log('warn', message);
              },
            },
            { lockWaitMs: migrationLockWaitMs },
          );
          if (applied.length > 0) log.logMigration(`applied: ${applied.join(', ')}`);
        } catch (error) {
          await dataSource.destroy();
          throw error;
        }
        return dataSource;
      },
    }),
  ],
})
export class DatabaseModule {}
