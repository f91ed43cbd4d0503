import { Module } from '@nestjs/common';
import { DeliveryTaskProducer } from './delivery-task-producer';
import { InputTopicReader } from './input-topic-reader';
import { ReplayController } from './replay.controller';
import { ReplayService } from './replay.service';
import { ReplayTargets } from './replay-target';

/** Window replay from the input topics and test events; exports what dead-letter replay reuses. */
@Module({
  controllers: [ReplayController],
  providers: [ReplayTargets, DeliveryTaskProducer, InputTopicReader, ReplayService],
  exports: [ReplayTargets, DeliveryTaskProducer],
})
export class ReplayModule {}
