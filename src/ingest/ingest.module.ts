import { Module } from '@nestjs/common';
import { leaseChannelProvider } from '../cluster/lease-channel.provider';
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
    leaseChannelProvider(INGEST_RATE_LEASES, 'ingest'),
    IngestRate,
    EarlyIngestRefusal,
    IngestService,
    IngestBatch,
  ],
  // IngestRate: test events and dead-letter replays are charged to the same per-tenant rate.
  exports: [EarlyIngestRefusal, IngestRate],
})
export class IngestModule {}
