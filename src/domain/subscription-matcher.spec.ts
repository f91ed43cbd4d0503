import { matchesEventType, SubscriptionIndex, type Subscription } from './subscription-matcher';

describe('matchesEventType', () => {
  it.each<[string[], string, boolean]>([
    [[], 'record.updated', true],
    [['*'], 'record.updated', true],
    [['*'], 'x', true],
    [['record.updated'], 'record.updated', true],
    [['record.updated'], 'record.created', false],
    [['record.updated'], 'record.updated.v2', false],
    [['record.updated'], 'Record.Updated', false],
    [['record.*'], 'record.updated', true],
    [['record.*'], 'record.updated.deeper', true],
    [['record.*'], 'record', false],
    [['record.*'], 'record.', false],
    [['record.*'], 'recordx.y', false],
    [['record.*'], 'other.record.updated', false],
    // Compared by UTF-16 unit, as String.startsWith would: a type outside ASCII matches itself only.
    [['réc😀rd.*'], 'réc😀rd.updated', true],
    [['réc😀rd.*'], 'rec😀rd.updated', false],
    [['réc😀rd.*'], 'réc😁rd.updated', false],
    [['record.updated.*'], 'record.updated.v2', true],
    [['record.updated.*'], 'record.updated', false],
    [['status.changed', 'record.*'], 'record.deleted', true],
    [['status.changed', 'record.*'], 'status.changed', true],
    [['status.changed', 'record.*'], 'transaction.processed', false],
    // Only a trailing '.*' is a wildcard; anything else is compared literally.
    [['*.updated'], 'record.updated', false],
    [['record.*.v2'], 'record.updated.v2', false],
    [['record*'], 'records', false],
    // Hookstream's own notifications only reach endpoints that name them.
    [[], 'hookstream.endpoint.disabled', false],
    [['*'], 'hookstream.endpoint.disabled', false],
    [['*', 'record.*'], 'hookstream.dead_letter.created', false],
    [['hookstream.*'], 'hookstream.endpoint.disabled', true],
    [['hookstream.*'], 'hookstream.dead_letter.created', true],
    [['hookstream.endpoint.*'], 'hookstream.endpoint.failing', true],
    [['hookstream.endpoint.*'], 'hookstream.dead_letter.created', false],
    [['hookstream.endpoint.failing'], 'hookstream.endpoint.failing', true],
    [['hookstream.*'], 'record.updated', false],
    [['*', 'hookstream.*'], 'record.updated', true],
  ])('%j matches %p: %p', (patterns, eventType, expected) => {
    expect(matchesEventType(patterns, eventType)).toBe(expected);
  });
});

interface TestEndpoint extends Subscription {
  url: string;
}

function endpoint(overrides: Partial<TestEndpoint> & { id: string }): TestEndpoint {
  return {
    tenantId: 't1',
    eventTypes: [],
    enabled: true,
    url: `https://example.com/${overrides.id}`,
    ...overrides,
  };
}

describe('SubscriptionIndex', () => {
  let index: SubscriptionIndex<TestEndpoint>;

  beforeEach(() => {
    index = new SubscriptionIndex<TestEndpoint>();
  });

  it('matches enabled endpoints of the event tenant whose filters accept the type', () => {
    index.upsert(endpoint({ id: 'all' }));
    index.upsert(endpoint({ id: 'records', eventTypes: ['record.*'] }));
    index.upsert(endpoint({ id: 'status', eventTypes: ['status.changed'] }));
    index.upsert(endpoint({ id: 'disabled', enabled: false }));
    index.upsert(endpoint({ id: 'other-tenant', tenantId: 't2' }));

    expect(index.match('t1', 'record.updated').map((e) => e.id)).toEqual(['all', 'records']);
    expect(index.match('t1', 'status.changed').map((e) => e.id)).toEqual(['all', 'status']);
    expect(index.match('t2', 'record.updated').map((e) => e.id)).toEqual(['other-tenant']);
    expect(index.match('t3', 'record.updated')).toEqual([]);
  });

  it('returns the stored objects themselves', () => {
    const item = endpoint({ id: 'a' });
    index.upsert(item);
    expect(index.match('t1', 'x')[0]).toBe(item);
    expect(index.get('a')).toBe(item);
  });

  it('does not look at other tenants while matching', () => {
    index.upsert(endpoint({ id: 'mine', eventTypes: ['record.*'] }));
    for (let i = 0; i < 100; i++) {
      const poisoned = endpoint({ id: `other-${i}`, tenantId: `t-other-${i % 7}` });
      Object.defineProperty(poisoned, 'eventTypes', {
        get: () => {
          throw new Error('scanned another tenant');
        },
      });
      Object.defineProperty(poisoned, 'enabled', {
        get: () => {
          throw new Error('scanned another tenant');
        },
      });
      index.upsert(poisoned);
    }
    expect(index.match('t1', 'record.updated').map((e) => e.id)).toEqual(['mine']);
  });

  it('replaces an endpoint on upsert, applying new filters and enabled state', () => {
    index.upsert(endpoint({ id: 'a', eventTypes: ['record.*'] }));
    expect(index.match('t1', 'status.changed')).toEqual([]);
    index.upsert(endpoint({ id: 'a', eventTypes: ['status.changed'] }));
    expect(index.match('t1', 'status.changed').map((e) => e.id)).toEqual(['a']);
    expect(index.match('t1', 'record.updated')).toEqual([]);
    index.upsert(endpoint({ id: 'a', eventTypes: ['status.changed'], enabled: false }));
    expect(index.match('t1', 'status.changed')).toEqual([]);
    expect(index.size()).toBe(1);
  });

  it('moves an endpoint whose tenant changed', () => {
    index.upsert(endpoint({ id: 'a', tenantId: 't1' }));
    index.upsert(endpoint({ id: 'a', tenantId: 't2' }));
    expect(index.match('t1', 'x')).toEqual([]);
    expect(index.match('t2', 'x').map((e) => e.id)).toEqual(['a']);
    expect(index.forTenant('t1')).toEqual([]);
    expect(index.size()).toBe(1);
  });

  it('removes endpoints and reports whether they existed', () => {
    index.upsert(endpoint({ id: 'a' }));
    index.upsert(endpoint({ id: 'b' }));
    expect(index.remove('a')).toBe(true);
    expect(index.remove('a')).toBe(false);
    expect(index.get('a')).toBeUndefined();
    expect(index.match('t1', 'x').map((e) => e.id)).toEqual(['b']);
    expect(index.size()).toBe(1);
    expect(index.remove('b')).toBe(true);
    expect(index.match('t1', 'x')).toEqual([]);
    expect(index.all()).toEqual([]);
  });

  it('keeps match order stable when an endpoint is updated in place', () => {
    ['a', 'b', 'c'].forEach((id) => index.upsert(endpoint({ id })));
    index.upsert(endpoint({ id: 'a', url: 'https://example.com/new' }));
    expect(index.match('t1', 'x').map((e) => e.id)).toEqual(['a', 'b', 'c']);
    expect(index.get('a')?.url).toBe('https://example.com/new');
  });

  it('lists all endpoints and those of one tenant', () => {
    index.upsert(endpoint({ id: 'a', tenantId: 't1' }));
    index.upsert(endpoint({ id: 'b', tenantId: 't2', enabled: false }));
    expect(index.all().map((e) => e.id)).toEqual(['a', 'b']);
    expect(index.forTenant('t2').map((e) => e.id)).toEqual(['b']);
    expect(index.size()).toBe(2);
  });

  it('replaces its whole content on replaceAll', () => {
    index.upsert(endpoint({ id: 'gone' }));
    index.replaceAll([endpoint({ id: 'a' }), endpoint({ id: 'b', tenantId: 't2' })]);
    expect(index.get('gone')).toBeUndefined();
    expect(index.all().map((e) => e.id)).toEqual(['a', 'b']);
    expect(index.match('t2', 'x').map((e) => e.id)).toEqual(['b']);
  });

  it('returns a fresh array each time, so callers cannot corrupt the index', () => {
    index.upsert(endpoint({ id: 'a' }));
    index.match('t1', 'x').pop();
    index.all().pop();
    expect(index.match('t1', 'x')).toHaveLength(1);
    expect(index.size()).toBe(1);
  });
});
