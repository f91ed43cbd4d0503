import type { LookupAddress } from 'node:dns';
import { Registry } from 'prom-client';
import { classifyError } from '../domain/attempt-outcome';
import { FakeClock, flush } from '../testing/fakes';
import {
  BoundedSystemLookup,
  DnsLookupError,
  HostResolver,
  type HostAnswer,
  type HostResolverOptions,
  type SystemLookup,
} from './host-resolver';

interface Query {
  name: string;
  signal: AbortSignal;
  answer(answer: HostAnswer): void;
  fail(code: string): void;
}

function world(options: HostResolverOptions = {}) {
  const clock = new FakeClock();
  const registry = new Registry();
  const queries: Query[] = [];
  const resolver = new HostResolver({
    clock,
    registry,
    cacheTtlMs: 60_000,
    ...options,
    query: (name, signal) =>
      new Promise<HostAnswer>((resolve, reject) =>
        queries.push({
          name,
          signal,
          answer: resolve,
          fail: (code) => reject(Object.assign(new Error(`query failed: ${code}`), { code })),
        }),
      ),
  });
  const counted = async (): Promise<Record<string, number>> => {
    const metric = await registry.getSingleMetric('hookstream_dns_lookups_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.result), v.value]));
  };
  return { clock, queries, resolver, counted };
}

const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

const at = (address: string, ttlMs: number | null = 300_000): HostAnswer => ({
  addresses: [{ address, family: address.includes(':') ? 6 : 4 }],
  ttlMs,
});

describe('HostResolver', () => {
  it('answers again from the cache until the record TTL ends, whatever the case of the name', async () => {
    const { clock, queries, resolver, counted } = world();
    const first = resolver.lookup('hooks.example.com');
    queries[0].answer(at('203.0.113.7', 30_000));
    expect(await first).toEqual([{ address: '203.0.113.7', family: 4 }]);

    clock.advance(29_999);
    expect(await resolver.lookup('Hooks.Example.COM')).toEqual([{ address: '203.0.113.7', family: 4 }]);
    expect(queries).toHaveLength(1);

    clock.advance(1);
    const again = resolver.lookup('hooks.example.com');
    expect(queries).toHaveLength(2);
    queries[1].answer(at('203.0.113.8'));
    expect(await again).toEqual([{ address: '203.0.113.8', family: 4 }]);
    expect(await counted()).toEqual({ resolved: 2, cache_hit: 1 });
  });

  it('keeps an answer no longer than the configured TTL, and at least a second', async () => {
    const { clock, queries, resolver } = world({ cacheTtlMs: 60_000 });
    const answered = async (name: string, answer: HostAnswer) => {
      const pending = resolver.lookup(name);
      queries.at(-1)!.answer(answer);
      await pending;
    };
    await answered('long.example.com', at('203.0.113.1', 3_600_000));
    await answered('zero.example.com', at('203.0.113.2', 0));
    await answered('hosts-file.example', at('203.0.113.3', null));

    clock.advance(999);
    await resolver.lookup('zero.example.com');
    expect(queries).toHaveLength(3);
    clock.advance(1);
    await answered('zero.example.com', at('203.0.113.2', 0));
    expect(queries.map((q) => q.name)).toEqual([
      'long.example.com',
      'zero.example.com',
      'hosts-file.example',
      'zero.example.com',
    ]);

    clock.advance(58_999);
    await resolver.lookup('long.example.com');
    await resolver.lookup('hosts-file.example');
    expect(queries).toHaveLength(4);
    clock.advance(1);
    await answered('long.example.com', at('203.0.113.1', 3_600_000));
    await answered('hosts-file.example', at('203.0.113.3', null));
    expect(queries.slice(4).map((q) => q.name)).toEqual(['long.example.com', 'hosts-file.example']);
  });

  it('sends one query for every lookup of a name in flight', async () => {
    const { queries, resolver, counted } = world();
    const waiting = [1, 2, 3].map(() => resolver.lookup('busy.example.com'));
    const other = resolver.lookup('other.example.com');
    expect(queries.map((q) => q.name)).toEqual(['busy.example.com', 'other.example.com']);

    queries[0].answer(at('2001:db8::1'));
    queries[1].answer(at('203.0.113.9'));
    for (const lookup of waiting) expect(await lookup).toEqual([{ address: '2001:db8::1', family: 6 }]);
    expect(await other).toEqual([{ address: '203.0.113.9', family: 4 }]);
    expect(await counted()).toEqual({ resolved: 4 });
  });

  it('remembers a failure for a few seconds as a DNS error, then asks again', async () => {
    const { clock, queries, resolver, counted } = world({ failureTtlMs: 5000 });
    const failing = resolver.lookup('broken.example.com');
    queries[0].fail('ESERVFAIL');
    const error = await failing.catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'DnsLookupError', code: 'EAI_AGAIN' });
    expect(classifyError(error)).toMatchObject({
      error: 'dns lookup failed: broken.example.com: lookup failed (ESERVFAIL)',
    });

    clock.advance(4999);
    await expect(resolver.lookup('broken.example.com')).rejects.toBeInstanceOf(DnsLookupError);
    expect(queries).toHaveLength(1);

    clock.advance(1);
    const recovered = resolver.lookup('broken.example.com');
    queries[1].answer(at('203.0.113.10'));
    expect(await recovered).toEqual([{ address: '203.0.113.10', family: 4 }]);
    expect(await counted()).toEqual({ failed: 2, resolved: 1 });
  });

  it('reports a name without addresses as not found', async () => {
    const { queries, resolver } = world();
    const missing = resolver.lookup('missing.example.com');
    queries[0].fail('ENOTFOUND');
    const empty = resolver.lookup('empty.example.com');
    queries[1].answer({ addresses: [], ttlMs: 300_000 });
    for (const lookup of [missing, empty]) {
      const error = await lookup.catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ENOTFOUND' });
      expect(classifyError(error)).toMatchObject({ error: expect.stringMatching(/^dns lookup failed: /) });
    }
  });

  it('fails every lookup waiting on a name that gets no answer in time, as a DNS error, and remembers it', async () => {
    const { queries, resolver, counted } = world({ timeoutMs: 20 });
    const waiting = [1, 2].map(() => resolver.lookup('slow.example.com').catch((e: unknown) => e));
    const errors = await Promise.all(waiting);
    for (const error of errors) {
      expect(error).toMatchObject({ name: 'DnsLookupError', code: 'EAI_AGAIN', timedOut: true });
      // A connection error, retried through the tiers; not `timeout`, which blames the receiver.
      expect(classifyError(error)).toMatchObject({
        error: 'dns lookup failed: slow.example.com: no answer within 20 ms',
      });
    }
    expect(queries).toHaveLength(1);
    expect(queries[0].signal.aborted).toBe(true);

    await expect(resolver.lookup('slow.example.com')).rejects.toMatchObject({ timedOut: true });
    expect(queries).toHaveLength(1);
    // A late answer changes nothing.
    queries[0].answer(at('203.0.113.11'));
    await expect(resolver.lookup('slow.example.com')).rejects.toMatchObject({ timedOut: true });
    expect(await counted()).toEqual({ timed_out: 4 });
  });

  it('holds at most maxEntries names, dropping the oldest first', async () => {
    const { queries, resolver } = world({ maxEntries: 2 });
    for (const name of ['a.example.com', 'b.example.com', 'c.example.com']) {
      const pending = resolver.lookup(name);
      queries.at(-1)!.answer(at('203.0.113.12'));
      await pending;
    }
    await resolver.lookup('b.example.com');
    await resolver.lookup('c.example.com');
    expect(queries).toHaveLength(3);
    const evicted = resolver.lookup('a.example.com');
    queries.at(-1)!.answer(at('203.0.113.12'));
    await evicted;
    expect(queries.map((q) => q.name)).toEqual([
      'a.example.com',
      'b.example.com',
      'c.example.com',
      'a.example.com',
    ]);
  });

  it('asks again, once the failure is forgotten, after a query that threw at once', async () => {
    const clock = new FakeClock();
    let asked = 0;
    const resolver = new HostResolver({
      clock,
      failureTtlMs: 1000,
      query: () => {
        asked += 1;
        throw Object.assign(new Error('bad name'), { code: 'EBADNAME' });
      },
    });
    await expect(resolver.lookup('bad..example.com')).rejects.toMatchObject({ code: 'EAI_AGAIN' });
    clock.advance(1000);
    await expect(resolver.lookup('bad..example.com')).rejects.toMatchObject({ code: 'EAI_AGAIN' });
    expect(asked).toBe(2);
  });

  describe('an answer one address family was late for', () => {
    const both = { addresses: [v4('192.0.2.30'), v6('2001:db8::30')], ttlMs: 300_000 };
    const partial = (address: string) => {
      let complete!: (answer: HostAnswer | null) => void;
      const whole = new Promise<HostAnswer | null>((resolve) => (complete = resolve));
      const family = address.includes(':') ? v6(address) : v4(address);
      return { answer: { addresses: [family], ttlMs: 300_000, whole }, complete };
    };

    it('reuses IPv6 addresses alone for a second at most, and the whole answer for its TTL once A has come', async () => {
      const { clock, queries, resolver } = world();
      const late = partial('2001:db8::30');
      const first = resolver.lookup('dual.example.com');
      queries[0].answer(late.answer);
      expect(await first).toEqual([v6('2001:db8::30')]);

      clock.advance(999);
      expect(await resolver.lookup('dual.example.com')).toEqual([v6('2001:db8::30')]);
      late.complete(both);
      await flush();
      clock.advance(58_000);
      expect(await resolver.lookup('dual.example.com')).toEqual(both.addresses);
      expect(queries).toHaveLength(1);
    });

    it('asks again after a second when A never comes', async () => {
      const { clock, queries, resolver } = world();
      const late = partial('2001:db8::31');
      const first = resolver.lookup('dual.example.com');
      queries[0].answer(late.answer);
      await first;
      late.complete(null);
      await flush();
      clock.advance(1000);
      const again = resolver.lookup('dual.example.com');
      expect(queries).toHaveLength(2);
      queries[1].answer(both);
      expect(await again).toEqual(both.addresses);
    });

    it('keeps IPv4 addresses alone for their TTL, and adds AAAA when it comes', async () => {
      const { clock, queries, resolver } = world();
      const late = partial('192.0.2.30');
      const first = resolver.lookup('dual.example.com');
      queries[0].answer(late.answer);
      expect(await first).toEqual([v4('192.0.2.30')]);
      clock.advance(30_000);
      expect(await resolver.lookup('dual.example.com')).toEqual([v4('192.0.2.30')]);
      late.complete(both);
      await flush();
      expect(await resolver.lookup('dual.example.com')).toEqual(both.addresses);
      expect(queries).toHaveLength(1);
    });

    it('does not put a late whole answer in place of a newer answer', async () => {
      const { clock, queries, resolver } = world();
      const late = partial('2001:db8::32');
      const first = resolver.lookup('dual.example.com');
      queries[0].answer(late.answer);
      await first;
      clock.advance(1000);
      const newer = resolver.lookup('dual.example.com');
      queries[1].answer(at('192.0.2.33'));
      await newer;
      late.complete(both);
      await flush();
      expect(await resolver.lookup('dual.example.com')).toEqual([v4('192.0.2.33')]);
    });
  });

  it('takes an IP literal as its own address, without a query', async () => {
    const { queries, resolver } = world();
    expect(await resolver.lookup('203.0.113.13')).toEqual([{ address: '203.0.113.13', family: 4 }]);
    expect(await resolver.lookup('2001:db8::2')).toEqual([{ address: '2001:db8::2', family: 6 }]);
    expect(queries).toHaveLength(0);
  });
});

describe('BoundedSystemLookup', () => {
  function system(limit: number) {
    const calls: Array<{ name: string; finish(addresses: LookupAddress[]): void }> = [];
    const lookupFn: SystemLookup = (name, callback) =>
      calls.push({ name, finish: (addresses) => callback(null, addresses) });
    return { calls, bounded: new BoundedSystemLookup(limit, lookupFn) };
  }
  const loopback = [{ address: '127.0.0.1', family: 4 }];

  it('runs at most `limit` calls; one that outlives its timeout keeps its slot until it returns', async () => {
    const { calls, bounded } = system(2);
    const timeouts = [1, 2, 3].map(() => new AbortController());
    const lookups = timeouts.map((t, i) => bounded.lookup(`host-${i}`, t.signal).catch((e: unknown) => e));
    expect(calls.map((c) => c.name)).toEqual(['host-0', 'host-1']);

    timeouts[0].abort(new Error('timed out'));
    expect(calls).toHaveLength(2);

    calls[0].finish(loopback);
    expect(calls.map((c) => c.name)).toEqual(['host-0', 'host-1', 'host-2']);
    calls[1].finish(loopback);
    calls[2].finish(loopback);
    expect(await Promise.all(lookups)).toEqual([loopback, loopback, loopback]);
  });

  it('drops a waiter whose lookup timed out before its turn', async () => {
    const { calls, bounded } = system(1);
    const first = bounded.lookup('first', new AbortController().signal);
    const timeout = new AbortController();
    const second = bounded.lookup('second', timeout.signal);
    timeout.abort(new Error('timed out'));
    await expect(second).rejects.toThrow('timed out');

    calls[0].finish(loopback);
    expect(await first).toEqual(loopback);
    expect(calls.map((c) => c.name)).toEqual(['first']);
  });
});
