import type { QueryDeadline } from '../database/query-deadline';
import type { TenantsRepository } from '../tenants/tenants.repository';
import { endpoint, FakeClock, flush, gate, silentLogger, testConfig } from '../testing/fakes';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import type { EndpointDirectory } from './endpoint-directory';
import { EndpointCache } from './endpoint-cache';

describe('EndpointCache.lookup', () => {
  it('asks PostgreSQL once for concurrent deliveries of an unseen endpoint, answering them in the order they asked', async () => {
    const answer = gate<EndpointSnapshot | null>();
    const queries: string[] = [];
    const directory = {
      findForCache: (id: string) => {
        queries.push(id);
        return answer.opened;
      },
    };
    const cache = new EndpointCache(
      directory as unknown as EndpointDirectory,
      {} as TenantsRepository,
      testConfig(),
      new FakeClock(),
      silentLogger,
    );
    const target = endpoint();
    const arrived: string[] = [];
    const first = cache.lookup(target.id).then(() => arrived.push('first'));
    const second = cache.lookup(target.id).then(() => arrived.push('second'));
    answer.open(target);
    await Promise.all([first, second]);
    expect(queries).toEqual([target.id]);
    expect(arrived).toEqual(['first', 'second']);
    // Answered and cached: a later lookup asks nothing.
    await expect(cache.lookup(target.id)).resolves.toEqual(target);
    expect(queries).toHaveLength(1);
  });
});

describe('EndpointCache.isKnownTenant', () => {
  it('asks PostgreSQL once for a tenant while its lookup is going, however often the fan-out retries', async () => {
    const answer = gate<boolean>();
    const asked: Array<[string, QueryDeadline]> = [];
    const tenants = {
      exists: (tenantId: string, deadline: QueryDeadline) => {
        asked.push([tenantId, deadline]);
        return answer.opened;
      },
    };
    const cache = new EndpointCache(
      {} as EndpointDirectory,
      tenants as unknown as TenantsRepository,
      testConfig(),
      new FakeClock(),
      silentLogger,
    );
    const tenantId = '0b6c3c52-4a53-4f0e-9f4e-2f1f3c0d9a11';
    // A hung PostgreSQL: the fan-out's deadline gives up on each of these and retries the batch.
    const lookups = [
      cache.isKnownTenant(tenantId, 1_000),
      cache.isKnownTenant(tenantId, 2_000),
      cache.isKnownTenant(tenantId, 3_000),
    ];
    answer.open(true);

    await expect(Promise.all(lookups)).resolves.toEqual([true, true, true]);
    // Sent with the deadline of the call that started it; the retries joined it.
    expect(asked).toEqual([[tenantId, 1_000]]);
  });
});

/**
 * PostgreSQL as the cache reads it: every query answers with the rows as they were when it was
 * asked, at once or, for the kinds held, when the test releases it.
 */
class HeldDatabase {
  readonly rows = new Map<string, EndpointSnapshot>();
  readonly held = new Set<'list' | 'find'>();
  readonly pending: Array<{ kind: 'list' | 'find'; release: () => void }> = [];
  listing = 0;
  mostListingAtOnce = 0;
  finds = 0;
  /** The ids each find query asked for, in the order the queries were sent. */
  readonly found: string[][] = [];
  /** The deadline each find query was sent with, in the same order. */
  readonly deadlines: QueryDeadline[] = [];

  listAllForCache = (): Promise<EndpointSnapshot[]> => {
    this.listing += 1;
    this.mostListingAtOnce = Math.max(this.mostListingAtOnce, this.listing);
    return this.answer('list', [...this.rows.values()]).finally(() => (this.listing -= 1));
  };

  findManyForCache = (ids: string[], deadline: QueryDeadline = null): Promise<EndpointSnapshot[]> => {
    this.finds += 1;
    this.found.push(ids);
    this.deadlines.push(deadline);
    return this.answer(
      'find',
      ids.flatMap((id) => this.rows.get(id) ?? []),
    );
  };

  /** Releases the newest query held (of `kind`, if given), the order that shows a stale one landing last. */
  async releaseNewest(kind?: 'list' | 'find'): Promise<boolean> {
    let index = this.pending.length - 1;
    while (index >= 0 && kind !== undefined && this.pending[index].kind !== kind) index -= 1;
    if (index < 0) return false;
    const [query] = this.pending.splice(index, 1);
    query.release();
    await flush();
    return true;
  }

  /** Releases held queries newest first until `done`; fails rather than spinning if it never is. */
  async releaseUntil(done: () => boolean): Promise<void> {
    for (let turn = 0; turn < 100 && !done(); turn++) {
      if (!(await this.releaseNewest())) await flush();
    }
    if (!done()) throw new Error(`still not done with ${this.pending.length} queries held`);
  }

  private answer<T>(kind: 'list' | 'find', value: T): Promise<T> {
    if (!this.held.has(kind)) return Promise.resolve(value);
    const answered = gate<T>();
    this.pending.push({ kind, release: () => answered.open(value) });
    return answered.opened;
  }
}

describe('EndpointCache, refreshes beside a full reload (decision 31)', () => {
  const created = endpoint({ id: '0a000000-0000-4000-8000-0000000000e1', eventTypes: ['record.*'] });

  function cacheOver(database: HeldDatabase): EndpointCache {
    return new EndpointCache(
      database as unknown as EndpointDirectory,
      { allIds: async () => [created.tenantId] } as unknown as TenantsRepository,
      testConfig(),
      new FakeClock(),
      silentLogger,
    );
  }
  const matched = (cache: EndpointCache) => cache.match(created.tenantId, 'record.updated').map((e) => e.id);

  it('keeps an endpoint refreshed while a reload read its older snapshot, from the swap on', async () => {
    const database = new HeldDatabase();
    const cache = cacheOver(database);
    database.held.add('list');
    const reload = cache.reload(); // Its snapshot is taken now: no endpoint yet.
    database.rows.set(created.id, created);
    await cache.refreshEndpoint(created.id); // The marker's refresh, before the tenant's next events.
    expect(matched(cache)).toEqual([created.id]);

    database.held.add('find'); // The reload's own re-read of the endpoint takes a while.
    await database.releaseNewest('list');
    expect(matched(cache)).toEqual([created.id]);
    let reloaded = false;
    const reloading = reload.finally(() => (reloaded = true));
    await database.releaseUntil(() => reloaded);
    await reloading;
    expect(matched(cache)).toEqual([created.id]);
  });

  it('runs one reload at a time, so an older snapshot never lands after a newer one', async () => {
    const database = new HeldDatabase();
    const cache = cacheOver(database);
    database.held.add('list');
    let settled = false;
    const reloads = Promise.all([
      cache.reload(), // The 30 s timer: its snapshot has no endpoint.
      (async () => {
        database.rows.set(created.id, created);
        await flush();
        await cache.reload(); // Reconnected: LISTEN missed the creation.
      })(),
    ]).finally(() => (settled = true));
    await flush();
    await cache.refreshEndpoint(created.id);
    expect(matched(cache)).toEqual([created.id]);
    // Answered newest first: the older reload's snapshot comes last.
    await database.releaseUntil(() => {
      expect(matched(cache)).toEqual([created.id]);
      return settled;
    });
    await reloads;
    expect(database.mostListingAtOnce).toBe(1);
  });

  it('applies the newest read of an endpoint last when refreshes of it overlap', async () => {
    const database = new HeldDatabase();
    const cache = cacheOver(database);
    database.rows.set(created.id, created);
    database.held.add('find');
    let settled = false;
    const first = cache.refreshEndpoint(created.id); // Reads the endpoint as first created.
    database.rows.set(created.id, { ...created, eventTypes: ['status.*'] });
    const refreshes = Promise.all([
      first,
      cache.refreshEndpoint(created.id), // The NOTIFY of the change...
      cache.refreshEndpoint(created.id), // ...and its marker.
    ]).finally(() => (settled = true));
    await database.releaseUntil(() => settled);
    await refreshes;
    expect(cache.get(created.id)?.eventTypes).toEqual(['status.*']);
    expect(matched(cache)).toEqual([]);
    // The two refreshes asked for while the first read shared one read after it.
    expect(database.finds).toBe(2);
  });

  it('reads the endpoints of one refresh in one query, and an endpoint with a read going after that read', async () => {
    const database = new HeldDatabase();
    const cache = cacheOver(database);
    const [a, b, c] = ['e2', 'e3', 'e4'].map((suffix) =>
      endpoint({ id: `0a000000-0000-4000-8000-0000000000${suffix}`, eventTypes: ['record.*'] }),
    );
    for (const known of [a, b, c]) database.rows.set(known.id, known);
    database.held.add('find');
    let settled = false;
    const first = cache.refreshEndpoint(a.id);
    await flush(); // A's read is sent, and held.
    database.rows.set(a.id, { ...a, eventTypes: ['status.*'] });
    const refreshes = Promise.all([first, cache.refreshEndpoints([a.id, b.id, c.id, b.id])]).finally(
      () => (settled = true),
    );
    await database.releaseUntil(() => settled);
    await refreshes;
    expect(database.found).toEqual([[a.id], [b.id, c.id], [a.id]]);
    expect([a, b, c].map((known) => cache.get(known.id)?.eventTypes)).toEqual([
      ['status.*'],
      ['record.*'],
      ['record.*'],
    ]);
  });

  it('sends a read shared by several refreshes with the deadline of the last to stop waiting, none if one has none', async () => {
    const database = new HeldDatabase();
    const cache = cacheOver(database);
    const [a, b] = ['e5', 'e6'].map((suffix) =>
      endpoint({ id: `0a000000-0000-4000-8000-0000000000${suffix}` }),
    );
    database.held.add('find');
    let settled = false;
    const refreshes = Promise.all([
      // One step, one query: a fan-out's marker refresh beside a NOTIFY's (no deadline).
      cache.refreshEndpoints([a.id], 1_000),
      cache.refreshEndpoint(b.id),
      // While that read is out, two fan-outs ask for a again: they share the read after it.
      (async () => {
        await flush();
        await Promise.all([cache.refreshEndpoints([a.id], 2_000), cache.refreshEndpoints([a.id], 3_000)]);
      })(),
    ]).finally(() => (settled = true));
    await database.releaseUntil(() => settled);
    await refreshes;
    // Reads that start together in one step go in one query: the shared deadline covers each reader.
    settled = false;
    const together = Promise.all([
      cache.refreshEndpoints([a.id, b.id], 4_000),
      cache.refreshEndpoints([b.id], 5_000), // b's read has started: this one waits for the next.
    ]).finally(() => (settled = true));
    await database.releaseUntil(() => settled);
    await together;
    expect(database.found).toEqual([[a.id, b.id], [a.id], [a.id, b.id], [b.id]]);
    expect(database.deadlines).toEqual([null, 3_000, 4_000, 5_000]);
  });
});
