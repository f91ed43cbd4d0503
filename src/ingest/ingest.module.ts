import { Module } from '@nestjs/common';
import { CatalogueModule } from '../catalogue/catalogue.module';
import { IdempotencyKeys } from './idempotency-keys.repository';
import { IdempotencySweep } from './idempotency-sweep';
import { IngestController } from './ingest.controller';
import { IngestIdempotency } from './ingest-idempotency';
import { IngestService } from './ingest.service';

/** `POST /v1/events`, and the idempotency keys it claims (`idempotency_keys`, owned by IdempotencyKeys). */
@Module({
  imports: [CatalogueModule],
  controllers: [IngestController],
  providers: [IdempotencyKeys, IngestIdempotency, IdempotencySweep, IngestService],
})
export class IngestModule {}
