import { Module } from '@nestjs/common';
import cluster from 'node:cluster';
import { IpcLeaseChannel } from '../cluster/ipc-lease-channel';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.module';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { EarlyIngestRefusal } from './early-ingest-refusal';
import { IdempotencyKeys } from './idempotency-keys.repository';
import { IdempotencySweep } from './idempotency-sweep';
import { IngestBatch } from './ingest-batch';
import { IngestController } from './ingest.controller';
import { IngestIdempotency } from './ingest-idempotency';
import { INGEST_RATE_LEASES, IngestRate } from './ingest-rate';
import { IngestService } from './ingest.service';

/**
 * `POST /v1/events` and its batch form, its per-tenant rate (refused early, before the body is read:
 * EarlyIngestRefusal), and the idempotency keys it claims (`idempotency_keys`, owned by IdempotencyKeys).
 */
@Module({
  imports: [CatalogueModule],
  controllers: [IngestController],
  providers: [
    IdempotencyKeys,
    IngestIdempotency,
    IdempotencySweep,
    {
      // One of several HTTP workers leases its tenants' ingest tokens from the supervisor (decision
      // 69); the only one (decision 73) or a single process holds the instance's buckets itself.
      provide: INGEST_RATE_LEASES,
      useFactory: (config: AppConfig, logger: Logger) =>
        cluster.isWorker && config.httpWorkers > 1 ? new IpcLeaseChannel(logger, 'ingest') : null,
      inject: [APP_CONFIG, LOGGER],
    },
    IngestRate,
    EarlyIngestRefusal,
    IngestService,
    IngestBatch,
  ],
  // IngestRate: test events and dead-letter replays are charged to the same per-tenant rate.
  exports: [EarlyIngestRefusal, IngestRate],
})
export class IngestModule {}
