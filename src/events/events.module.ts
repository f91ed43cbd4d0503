import { Module } from '@nestjs/common';
import { DeadLettersModule } from '../dead-letters/dead-letters.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { EventLogModule } from '../event-log/event-log.module';
import { RetryModule } from '../retry/retry.module';
import { EventsController } from './events.controller';
import { EventsService } from './events.service';

/** `GET /v1/events` and `GET /v1/events/:id`: the tenant's events feed (README decision 40). */
@Module({
  imports: [EventLogModule, EndpointsModule, DeliveryModule, DeadLettersModule, RetryModule],
  controllers: [EventsController],
  providers: [EventsService],
})
export class EventsModule {}
