import { Module } from '@nestjs/common';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { DeliveryTaskProducer } from './delivery-task-producer';
import { ReplayController } from './replay.controller';
import { ReplayLeases } from './replay-leases';
import { ReplayService } from './replay.service';
import { ReplayTargets } from './replay-target';

/** Window replay from the input topics and test events; exports what dead-letter replay reuses. */
@Module({
  imports: [EndpointsModule],
  controllers: [ReplayController],
  providers: [ReplayTargets, DeliveryTaskProducer, ReplayLeases, ReplayService],
  exports: [ReplayTargets, DeliveryTaskProducer],
})
export class ReplayModule {}
