import { Module } from '@nestjs/common';
import { IdempotencyKeys } from './idempotency-keys.repository';
import { IdempotencySweep } from './idempotency-sweep';
import { IngestBatch } from './ingest-batch';
import { IngestController } from './ingest.controller';
import { IngestIdempotency } from './ingest-idempotency';
import { IngestService } from './ingest.service';

/** `POST /v1/events` (and its batch form), and the idempotency keys it claims (`idempotency_keys`, owned by IdempotencyKeys). */
@Module({
  controllers: [IngestController],
  providers: [IdempotencyKeys, IngestIdempotency, IdempotencySweep, IngestService, IngestBatch],
})
export class IngestModule {}
