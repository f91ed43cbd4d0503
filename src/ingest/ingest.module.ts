import { Module } from '@nestjs/common';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { EarlyIngestRefusal } from './early-ingest-refusal';
import { IdempotencyKeys } from './idempotency-keys.repository';
import { IdempotencySweep } from './idempotency-sweep';
import { IngestBatch } from './ingest-batch';
import { IngestController } from './ingest.controller';
import { IngestIdempotency } from './ingest-idempotency';
import { IngestRate } from './ingest-rate';
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
    IngestRate,
    EarlyIngestRefusal,
    IngestService,
    IngestBatch,
  ],
  exports: [EarlyIngestRefusal],
})
export class IngestModule {}
