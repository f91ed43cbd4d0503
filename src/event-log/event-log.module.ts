import { Module } from '@nestjs/common';
import { EventLog } from './event-log';
import { EventsRepository } from './events.repository';
import { FeedHorizonRepository } from './feed-horizon.repository';

/** The events feed's table: written behind the fan-out, read by `GET /v1/events` (src/events). */
@Module({
  providers: [EventsRepository, EventLog, FeedHorizonRepository],
  exports: [EventsRepository, EventLog, FeedHorizonRepository],
})
export class EventLogModule {}
