import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { deriveFeedCursorKeys, FeedCursorSeal } from '../domain/feed-cursor-seal';
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
  providers: [
    EventsService,
    {
      provide: FeedCursorSeal,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new FeedCursorSeal(
          deriveFeedCursorKeys(config.security.secretKeys),
          config.events.acceptPlainCursors,
        ),
    },
  ],
})
export class EventsModule {}
