import type { LookupAddress } from 'node:dns';
import { Registry } from 'prom-client';
import { DnsLookupError, HostResolver, type SystemLookup } from '../../src/common/host-resolver';
import { EgressRefusedError, HttpSender } from '../../src/delivery/http-sender';
import { classifyError } from '../../src/domain/attempt-outcome';
import { parseCidrList } from '../../src/domain/egress/cidr';
import { EgressPolicy } from '../../src/domain/egress/ip-classifier';
import { FakeClock } from '../../src/testing/fakes';
import { TestReceiver } from '../support/receiver';
import { waitFor } from '../support/wait';
import { DnsResponder } from './dns-responder';

/** Every name here is answered by the responder on 127.0.0.1; none is ever asked of the system's DNS. */
const zone = (name: string) => {
  if (name === 'fast.hookstream.test') return { a: ['192.0.2.10'] };
  if (name === 'cached.hookstream.test') return { a: ['192.0.2.11'], ttlSeconds: 300 };
  if (name.startsWith('slow')) return { a: ['192.0.2.12'], delayMs: 10_000 };
  if (name === 'private.hookstream.test') return { a: ['10.0.0.5'] };
  if (name === 'loopback.hookstream.test') return { a: ['127.0.0.1'] };
  // Dual-stack names whose A or AAAA answer comes late (as when the recursive server has one cached).
  if (name === 'a-late.hookstream.test') return { a: ['192.0.2.20'], aaaa: ['2001:db8::20'], aDelayMs: 200 };
  if (name === 'aaaa-late.hookstream.test')
    return { a: ['192.0.2.21'], aaaa: ['2001:db8::21'], delayMs: 200, aDelayMs: 0 };
  if (name === 'a-lost.hookstream.test')
    return { a: ['192.0.2.22'], aaaa: ['2001:db8::22'], aDelayMs: 10_000 };
  // A fails at once (SERVFAIL), or answers at once with no records (NODATA), while AAAA answers.
  if (name === 'a-servfail.hookstream.test') return { a: [], aaaa: ['2001:db8::23'], rcode: { a: 2 } };
  if (name === 'a-nodata.hookstream.test') return { a: [], aaaa: ['2001:db8::24'] };
  return undefined;
};

/** Stands in for getaddrinfo (the hosts file): knows `localhost` and one name DNS does not. */
function hostsFile() {
  const asked: string[] = [];
  const known: Record<string, LookupAddress[]> = {
    localhost: [{ address: '127.0.0.1', family: 4 }],
    'hosts-only.hookstream.test': [{ address: '127.0.0.1', family: 4 }],
  };
  const lookup: SystemLookup = (name, callback) => {
    asked.push(name);
    const addresses = known[name];
    setImmediate(() =>
      addresses
        ? callback(null, addresses)
        : callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }), []),
    );
  };
  return { asked, lookup };
}

const loopbackOnly = () => new EgressPolicy(parseCidrList('127.0.0.0/8,::1/128'));

describe('HostResolver against a DNS server on 127.0.0.1', () => {
  let dns: DnsResponder;
  let hosts: ReturnType<typeof hostsFile>;
  let registry: Registry;
  const resolvers: HostResolver[] = [];
  const resolver = (timeoutMs = 2000, clock?: FakeClock) => {
    const created = new HostResolver({
      timeoutMs,
      clock,
      cacheTtlMs: 60_000,
      servers: [dns.server],
      systemLookup: hosts.lookup,
      registry,
    });
    resolvers.push(created);
    return created;
  };
  const counted = async (): Promise<Record<string, number>> => {
    const metric = await registry.getSingleMetric('hookstream_dns_lookups_total')!.get();
    return Object.fromEntries(metric.values.map((v) => [String(v.labels.result), v.value]));
  };

  beforeEach(async () => {
    dns = await new DnsResponder(zone).start();
    hosts = hostsFile();
    registry = new Registry();
  });
  afterEach(async () => {
    for (const created of resolvers.splice(0)) created.close();
    await dns.stop();
  });

  it('answers a name at once while many lookups of slow names wait, then fails those with the timeout', async () => {
    const resolving = resolver();
    const slowNames = [
      ...Array.from({ length: 20 }, (_, i) => `slow-${i}.hookstream.test`),
      ...Array.from({ length: 10 }, () => 'slow.hookstream.test'),
    ];
    let settled = 0;
    const slow = slowNames.map((name) =>
      resolving.lookup(name).then(
        () => (settled += 1),
        (error: unknown) => ((settled += 1), error),
      ),
    );

    expect(await resolving.lookup('fast.hookstream.test')).toEqual([{ address: '192.0.2.10', family: 4 }]);
    expect(settled).toBe(0);

    const errors = await Promise.all(slow);
    errors.forEach((error, i) => {
      expect(error).toBeInstanceOf(DnsLookupError);
      expect(error).toMatchObject({ code: 'EAI_AGAIN', timedOut: true });
      // HOOKSTREAM_DNS_TIMEOUT failed them, as a connection error that is retried through the tiers.
      expect(classifyError(error)).toMatchObject({
        error: `dns lookup failed: ${slowNames[i]}: no answer within 2000 ms`,
      });
    });
    // The ten lookups of one name shared one query, which c-ares resent as often as one lookup's.
    expect(dns.count('slow.hookstream.test', 'A')).toBeLessThan(10);
    expect(dns.count('slow.hookstream.test', 'A')).toBeLessThanOrEqual(
      dns.count('slow-0.hookstream.test', 'A') + 1,
    );
    expect(hosts.asked).toEqual([]);
    expect(await counted()).toEqual({ resolved: 1, timed_out: 30 });
  });

  it('answers a second lookup of a name from its cache, without asking the server', async () => {
    const resolving = resolver();
    expect(await resolving.lookup('cached.hookstream.test')).toEqual([{ address: '192.0.2.11', family: 4 }]);
    expect(await resolving.lookup('cached.hookstream.test')).toEqual([{ address: '192.0.2.11', family: 4 }]);
    expect(dns.count('cached.hookstream.test', 'A')).toBe(1);
    expect(dns.count('cached.hookstream.test', 'AAAA')).toBe(1);
    expect(await counted()).toEqual({ resolved: 1, cache_hit: 1 });
  });

  it('waits for a late A answer after AAAA, and keeps both addresses for the TTL', async () => {
    // Only the responder's answers: nothing here dials these documentation addresses.
    const clock = new FakeClock();
    const resolving = resolver(2000, clock);
    const both = [
      { address: '192.0.2.20', family: 4 },
      { address: '2001:db8::20', family: 6 },
    ];
    expect(await resolving.lookup('a-late.hookstream.test')).toEqual(both);
    clock.advance(500);
    expect(await resolving.lookup('a-late.hookstream.test')).toEqual(both);
    clock.advance(59_000);
    expect(await resolving.lookup('a-late.hookstream.test')).toEqual(both);
    expect(dns.count('a-late.hookstream.test', 'A')).toBe(1);
    expect(dns.count('a-late.hookstream.test', 'AAAA')).toBe(1);
  });

  it('answers with A alone after the resolution delay, and adds the late AAAA answer to the cache', async () => {
    const clock = new FakeClock();
    const resolving = resolver(2000, clock);
    expect(await resolving.lookup('aaaa-late.hookstream.test')).toEqual([
      { address: '192.0.2.21', family: 4 },
    ]);
    await waitFor(
      async () => (await resolving.lookup('aaaa-late.hookstream.test')).some((a) => a.family === 6),
      { timeoutMs: 5_000, what: 'the late AAAA answer in the cached addresses' },
    );
    expect(await resolving.lookup('aaaa-late.hookstream.test')).toEqual([
      { address: '192.0.2.21', family: 4 },
      { address: '2001:db8::21', family: 6 },
    ]);
    expect(dns.count('aaaa-late.hookstream.test', 'AAAA')).toBe(1);
  });

  it('answers with AAAA alone when A has not come within half the timeout, and asks again a second later', async () => {
    const clock = new FakeClock();
    const resolving = resolver(400, clock);
    expect(await resolving.lookup('a-lost.hookstream.test')).toEqual([
      { address: '2001:db8::22', family: 6 },
    ]);
    clock.advance(999);
    await resolving.lookup('a-lost.hookstream.test');
    expect(dns.count('a-lost.hookstream.test', 'AAAA')).toBe(1);
    clock.advance(1);
    await resolving.lookup('a-lost.hookstream.test');
    expect(dns.count('a-lost.hookstream.test', 'AAAA')).toBe(2);
  });

  it('answers with AAAA alone when A fails at once (SERVFAIL), and asks again a second later', async () => {
    const clock = new FakeClock();
    const resolving = resolver(2000, clock);
    expect(await resolving.lookup('a-servfail.hookstream.test')).toEqual([
      { address: '2001:db8::23', family: 6 },
    ]);
    expect(dns.count('a-servfail.hookstream.test', 'AAAA')).toBe(1);
    clock.advance(1500);
    expect(await resolving.lookup('a-servfail.hookstream.test')).toEqual([
      { address: '2001:db8::23', family: 6 },
    ]);
    expect(dns.count('a-servfail.hookstream.test', 'AAAA')).toBe(2);
  });

  it('keeps AAAA alone for the TTL when the name has no A records (NODATA)', async () => {
    const clock = new FakeClock();
    const resolving = resolver(2000, clock);
    expect(await resolving.lookup('a-nodata.hookstream.test')).toEqual([
      { address: '2001:db8::24', family: 6 },
    ]);
    clock.advance(59_000);
    expect(await resolving.lookup('a-nodata.hookstream.test')).toEqual([
      { address: '2001:db8::24', family: 6 },
    ]);
    expect(dns.count('a-nodata.hookstream.test', 'A')).toBe(1);
    expect(dns.count('a-nodata.hookstream.test', 'AAAA')).toBe(1);
  });

  it('takes names DNS does not know, and localhost without asking DNS, from the hosts file', async () => {
    const resolving = resolver();
    expect(await resolving.lookup('hosts-only.hookstream.test')).toEqual([
      { address: '127.0.0.1', family: 4 },
    ]);
    expect(dns.count('hosts-only.hookstream.test')).toBeGreaterThan(0);
    expect(await resolving.lookup('localhost')).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(dns.count('localhost')).toBe(0);
    await expect(resolving.lookup('nowhere.hookstream.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(hosts.asked).toEqual(['hosts-only.hookstream.test', 'localhost', 'nowhere.hookstream.test']);
  });

  it('refuses a name that resolves to a private address, before dialling it', async () => {
    const sender = new HttpSender({
      timeoutMs: 2000,
      responseBodyLimitBytes: 1024,
      connectionsPerOrigin: 64,
      policy: loopbackOnly(),
      userAgent: 'Hookstream-test',
      resolver: resolver(),
    });
    // Port 9 (discard): nothing listens there, and the refusal comes before any connection.
    const error = await sender.post('http://private.hookstream.test:9/', {}, '{}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EgressRefusedError);
    expect(classifyError(error)).toMatchObject({
      error: expect.stringMatching(/^egress refused: .*private address 10\.0\.0\.5 is not allowed/),
    });
    expect(dns.count('private.hookstream.test', 'A')).toBe(1);
    await sender.close();
  });

  it('delivers a POST to a name that resolves to 127.0.0.1', async () => {
    const receiver = await new TestReceiver().start();
    const sender = new HttpSender({
      timeoutMs: 2000,
      responseBodyLimitBytes: 1024,
      connectionsPerOrigin: 64,
      policy: loopbackOnly(),
      userAgent: 'Hookstream-test',
      resolver: resolver(),
    });
    try {
      const url = `http://loopback.hookstream.test:${receiver.port}/hook`;
      expect((await sender.post(url, {}, '{"n":1}')).status).toBe(204);
      expect(receiver.on('/hook').map((r) => [r.headers.host, r.body])).toEqual([
        [`loopback.hookstream.test:${receiver.port}`, '{"n":1}'],
      ]);
    } finally {
      await sender.close();
      await receiver.stop();
    }
  });

  it('fails a POST to a name that gets no answer in time as a DNS error, which is retried', async () => {
    const sender = new HttpSender({
      timeoutMs: 5000,
      responseBodyLimitBytes: 1024,
      connectionsPerOrigin: 64,
      policy: loopbackOnly(),
      userAgent: 'Hookstream-test',
      resolver: resolver(300),
    });
    const error = await sender.post('http://slow-post.hookstream.test:9/', {}, '{}').catch((e: unknown) => e);
    expect(classifyError(error)).toMatchObject({
      kind: 'failed',
      error: 'dns lookup failed: slow-post.hookstream.test: no answer within 300 ms',
    });
    await sender.close();
  });
});
