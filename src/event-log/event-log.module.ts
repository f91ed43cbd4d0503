import { Module } from '@nestjs/common';
import { EventLog } from './event-log';
import { EventsRepository } from './events.repository';

/** The events feed's table: written behind the fan-out, read by `GET /v1/events` (src/events). */
@Module({
  providers: [EventsRepository, EventLog],
  exports: [EventsRepository, EventLog],
})
export class EventLogModule {}
