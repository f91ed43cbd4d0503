import type { EventTypeDto } from './dto/event-type.dto';
import type { EventTypeRow } from './event-types.repository';

/** The API shape of a stored type: the schema parsed back from the text it was stored as. */
export function toEventTypeDto(row: EventTypeRow): EventTypeDto {
  return {
    name: row.name,
    description: row.description,
    schema: row.schema === null ? null : (JSON.parse(row.schema) as unknown),
    validation: row.validation,
    deprecated: row.deprecated,
    version: row.version,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
