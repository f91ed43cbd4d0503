import { Module } from '@nestjs/common';
import { EventCatalogue } from './event-catalogue';
import { EventTypesAdminController } from './event-types-admin.controller';
import { EventTypesController } from './event-types.controller';
import { EventTypesRepository } from './event-types.repository';
import { EventTypesService } from './event-types.service';

/**
 * The event catalogue (`event_types`, owned by EventTypesRepository): the platform's event types
 * with their descriptions and payload schemas, and the compiled schemas ingest and the fan-out
 * validate with (EventCatalogue).
 */
@Module({
  controllers: [EventTypesAdminController, EventTypesController],
  providers: [EventTypesRepository, EventTypesService, EventCatalogue],
  exports: [EventCatalogue],
})
export class CatalogueModule {}
