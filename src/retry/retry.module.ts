import { Module } from '@nestjs/common';
import { HeldDeliveries } from './held-deliveries';
import { RetryTopics } from './retry-topics';
import { StrictParking } from './strict-parking';

/**
 * Where deliveries wait between attempts: the retry tier topics and the dead-letter topic (written
 * through {@link RetryTopics}), deliveries held in PostgreSQL while their endpoint cannot take them
 * ({@link HeldDeliveries}), and the strict-ordering parking lot ({@link StrictParking}). What waits
 * where, and for how long, is decided in src/domain/settlement.ts; the delivery module's settler
 * applies it through these. Nothing here calls back into delivery.
 */
@Module({
  providers: [RetryTopics, HeldDeliveries, StrictParking],
  exports: [RetryTopics, HeldDeliveries, StrictParking],
})
export class RetryModule {}
