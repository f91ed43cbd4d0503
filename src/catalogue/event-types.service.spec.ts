import { DomainError } from '../common/domain-error';
import type { EventCatalogue } from './event-catalogue';
import type { EventTypeFields, EventTypeRow, EventTypesRepository } from './event-types.repository';
import { EventTypesService } from './event-types.service';

/** The repository in memory: what was stored, by name. */
function service() {
  const rows = new Map<string, EventTypeRow>();
  const row = (name: string, fields: EventTypeFields): EventTypeRow => ({
    name,
    ...fields,
    version: 1,
    createdAt: new Date(0),
    updatedAt: new Date(0),
  });
  const repository = {
    insert: async (name: string, fields: EventTypeFields) => {
      if (rows.has(name)) return null;
      rows.set(name, row(name, fields));
      return rows.get(name)!;
    },
    upsert: async (name: string, fields: EventTypeFields) => {
      const created = !rows.has(name);
      rows.set(name, row(name, fields));
      return { row: rows.get(name)!, created };
    },
  };
  const catalogue = { applied: () => undefined };
  return {
    rows,
    eventTypes: new EventTypesService(
      repository as unknown as EventTypesRepository,
      catalogue as unknown as EventCatalogue,
    ),
  };
}

const reserved =
  "name: the prefix hookstream. is reserved for Hookstream's own notifications (docs/notifications.md)";

describe('EventTypesService', () => {
  it("refuses to catalogue a type under Hookstream's reserved prefix (400), by create and by put", async () => {
    const { rows, eventTypes } = service();
    const schema = { type: 'object', required: ['x'] };
    const refusals = await Promise.all([
      eventTypes
        .create('hookstream.endpoint.failing', { schema, validation: 'reject' })
        .catch((e: unknown) => e),
      eventTypes.put('hookstream.dead_letter.created', {}).catch((e: unknown) => e),
    ]);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(DomainError);
      expect(refusal).toMatchObject({ code: 'validation_failed', message: reserved });
    }
    expect([...rows.keys()]).toEqual([]);
  });

  it('catalogues other types, those that only start with the same letters included', async () => {
    const { rows, eventTypes } = service();
    await eventTypes.create('hookstreams.thing', {});
    await eventTypes.put('order.hookstream.placed', {});
    expect([...rows.keys()]).toEqual(['hookstreams.thing', 'order.hookstream.placed']);
  });
});
