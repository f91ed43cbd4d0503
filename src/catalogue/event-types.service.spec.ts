import { DomainError } from '../common/domain-error';
import { globalPipes } from '../common/global-pipes';
import { MAX_EVENT_TYPE_LENGTH } from '../domain/event-contract';
import { EventTypePageQueryDto } from './dto/event-type.dto';
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
    page: async (limit: number, after: string | null) =>
      [...rows.keys()]
        .sort()
        .filter((name) => after === null || name > after)
        .slice(0, limit)
        .map((name) => rows.get(name)!),
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

/** `?limit&cursor` as the app reads them: through the global pipes, into the route's query DTO. */
async function pageQuery(query: Record<string, string>): Promise<EventTypePageQueryDto> {
  let value: unknown = query;
  for (const pipe of globalPipes()) {
    value = await pipe.transform(value, { type: 'query', metatype: EventTypePageQueryDto });
  }
  return value as EventTypePageQueryDto;
}

describe('EventTypesService.list', () => {
  it('pages past names of every valid length: the cursor it issues is one the query accepts', async () => {
    const { eventTypes } = service();
    const names = ['a'.repeat(MAX_EVENT_TYPE_LENGTH), 'b'.repeat(151), 'c'];
    for (const name of names) await eventTypes.create(name, {});
    const seen: string[] = [];
    let query = await pageQuery({ limit: '1' });
    for (;;) {
      const { rows, next } = await eventTypes.list(query.limit, query.cursor);
      seen.push(...rows.map((row) => row.name));
      if (next === null) break;
      query = await pageQuery({ limit: '1', cursor: next });
    }
    expect(seen).toEqual(names);
  });
});
