import { flush, gate, silentLogger, testConfig } from '../testing/fakes';
import type { EventTypeRow, EventTypesRepository } from './event-types.repository';
import { EventCatalogue } from './event-catalogue';

/** The stored catalogue: `all` answers with the rows as they were when asked, once the test releases it. */
class HeldCatalogueTable {
  readonly rows = new Map<string, EventTypeRow>();
  private readonly held: Array<() => void> = [];

  all = (): Promise<EventTypeRow[]> => {
    const snapshot = [...this.rows.values()];
    const answered = gate<EventTypeRow[]>();
    this.held.push(() => answered.open(snapshot));
    return answered.opened;
  };

  find = async (name: string): Promise<EventTypeRow | null> => this.rows.get(name) ?? null;

  /** Answers every held read, newest first: the order that shows a stale snapshot landing last. */
  async releaseAll(): Promise<void> {
    while (this.held.length > 0) this.held.pop()!();
    await flush();
  }
}

const orderCreated: EventTypeRow = {
  name: 'order.created',
  description: '',
  schema: JSON.stringify({ type: 'object', required: ['orderId'] }),
  validation: 'reject',
  deprecated: false,
  version: 1,
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

function catalogueOver(table: HeldCatalogueTable): EventCatalogue {
  return new EventCatalogue(table as unknown as EventTypesRepository, testConfig(), silentLogger);
}

describe('EventCatalogue, changes beside a full reload', () => {
  it('keeps a type this replica created while a reload read its older snapshot', async () => {
    const table = new HeldCatalogueTable();
    const catalogue = catalogueOver(table);
    const reload = catalogue.reload(); // Its snapshot is taken now: no type yet.
    table.rows.set(orderCreated.name, orderCreated);
    catalogue.applied(orderCreated); // POST /v1/event-types on this replica.
    expect(catalogue.check('order.created', {})).not.toBeNull();

    await table.releaseAll();
    await reload;
    expect(catalogue.has('order.created')).toBe(true);
    expect(catalogue.check('order.created', {})).not.toBeNull();
  });

  it('keeps a deletion a notice announced while a reload read its older snapshot', async () => {
    const table = new HeldCatalogueTable();
    table.rows.set(orderCreated.name, orderCreated);
    const catalogue = catalogueOver(table);
    const first = catalogue.reload();
    await table.releaseAll();
    await first;
    expect(catalogue.has('order.created')).toBe(true);

    const reload = catalogue.reload(); // Its snapshot still holds the type.
    table.rows.delete(orderCreated.name);
    await catalogue.refresh(orderCreated.name); // The NOTIFY of the deletion, from another replica.
    expect(catalogue.has('order.created')).toBe(false);

    await table.releaseAll();
    await reload;
    expect(catalogue.has('order.created')).toBe(false);
    expect(catalogue.check('order.created', {})).toBeNull();
  });

  it('runs one reload at a time, so an older snapshot never lands after a newer one', async () => {
    const table = new HeldCatalogueTable();
    const catalogue = catalogueOver(table);
    const older = catalogue.reload(); // Its snapshot: no type.
    table.rows.set(orderCreated.name, orderCreated);
    const newer = catalogue.reload(); // Reconnected: the notice of the creation was missed.
    let settled = false;
    const both = Promise.all([older, newer]).finally(() => (settled = true));
    for (let turn = 0; turn < 10 && !settled; turn++) await table.releaseAll();
    await both;
    expect(catalogue.has('order.created')).toBe(true);
  });
});
