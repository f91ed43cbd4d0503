import { MAX_ENDPOINT_CONCURRENCY } from '../domain/endpoint-snapshot';
import { usableCores } from './cpu-count';
import { ConfigError, loadConfig } from './config';
import { formatDuration, parseDurationMs, parseSizeBytes } from './units';

const required = { HOOKSTREAM_ADMIN_TOKEN: 'a'.repeat(16), HOOKSTREAM_SECRET_KEY: 'k'.repeat(32) };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(required);
    expect(config.port).toBe(3000);
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.kafka.inputTopics).toEqual(['platform.events']);
    expect(config.delivery.timeoutMs).toBe(15_000);
    expect(config.delivery.maxEventBytes).toBe(256 * 1024);
    expect(config.security.egressAllowlist).toEqual([]);
    expect(config.kafka.retryTiers.map((t) => t.topic)).toEqual([
      'hookstream.retry.1.5s',
      'hookstream.retry.2.30s',
      'hookstream.retry.3.2m',
      'hookstream.retry.4.15m',
      'hookstream.retry.5.1h',
      'hookstream.retry.6.6h',
      'hookstream.retry.7.12h',
    ]);
  });

  it('names every bad variable in one error', () => {
    const attempt = () =>
      loadConfig({ PORT: 'abc', KAFKA_BROKERS: 'nohost', HOOKSTREAM_DELIVERY_TIMEOUT: 'fast' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toEqual(
        expect.arrayContaining([
          'PORT: "abc" is not a whole number',
          'HOOKSTREAM_ADMIN_TOKEN is required',
          'HOOKSTREAM_SECRET_KEY is required',
          'KAFKA_BROKERS: "nohost" is not host:port',
          expect.stringContaining('HOOKSTREAM_DELIVERY_TIMEOUT'),
        ]),
      );
    }
  });

  it('reloads the event catalogue every 30 s by default, at most every second', () => {
    expect(loadConfig(required).catalogueRefreshMs).toBe(30_000);
    expect(loadConfig({ ...required, HOOKSTREAM_CATALOGUE_REFRESH: '5m' }).catalogueRefreshMs).toBe(300_000);
    for (const [name, value] of [
      ['HOOKSTREAM_CATALOGUE_REFRESH', '30d'],
      ['HOOKSTREAM_ENDPOINT_CACHE_REFRESH', '0s'],
      ['HOOKSTREAM_ENDPOINT_CACHE_REFRESH', '30d'],
      ['HOOKSTREAM_INGEST_TIMEOUT', '60s'],
    ]) {
      // A timer of 0 ms or past 2^31-1 ms fires after 1 ms: a reload every millisecond.
      expect(() => loadConfig({ ...required, [name]: value })).toThrow(name);
    }
    expect(() => loadConfig({ ...required, HOOKSTREAM_CATALOGUE_REFRESH: '10ms' })).toThrow(
      /HOOKSTREAM_CATALOGUE_REFRESH: 10ms is shorter than 1000 ms/,
    );
  });

  it('gives each PostgreSQL call on the fan-out path 5 s by default, 100 ms to 5 minutes', () => {
    expect(loadConfig(required).fanoutDatabaseTimeoutMs).toBe(5_000);
    expect(loadConfig({ ...required, HOOKSTREAM_FANOUT_DB_TIMEOUT: '750ms' }).fanoutDatabaseTimeoutMs).toBe(
      750,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_FANOUT_DB_TIMEOUT: '0s' })).toThrow(
      /HOOKSTREAM_FANOUT_DB_TIMEOUT: 0s is shorter than 100 ms/,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_FANOUT_DB_TIMEOUT: '10m' })).toThrow(
      /HOOKSTREAM_FANOUT_DB_TIMEOUT: 10m is longer than 300000 ms/,
    );
  });

  it('waits at most 10 minutes for the migration lock by default, 1 s to a day', () => {
    expect(loadConfig(required).migrationLockWaitMs).toBe(600_000);
    expect(loadConfig({ ...required, HOOKSTREAM_MIGRATION_LOCK_WAIT: '45m' }).migrationLockWaitMs).toBe(
      2_700_000,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_MIGRATION_LOCK_WAIT: '500ms' })).toThrow(
      /HOOKSTREAM_MIGRATION_LOCK_WAIT: 500ms is shorter than 1000 ms/,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_MIGRATION_LOCK_WAIT: '2d' })).toThrow(
      /HOOKSTREAM_MIGRATION_LOCK_WAIT: 2d is longer than 86400000 ms/,
    );
  });

  it('remembers idempotency keys for 24 hours by default, in the duration units, at least a second', () => {
    expect(loadConfig(required).idempotencyWindowMs).toBe(86_400_000);
    expect(loadConfig({ ...required, HOOKSTREAM_IDEMPOTENCY_WINDOW: '90m' }).idempotencyWindowMs).toBe(
      5_400_000,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_IDEMPOTENCY_WINDOW: '500ms' })).toThrow(
      /HOOKSTREAM_IDEMPOTENCY_WINDOW: 500ms is shorter than 1000 ms/,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_IDEMPOTENCY_WINDOW: '24' })).toThrow(
      /HOOKSTREAM_IDEMPOTENCY_WINDOW: "24" is not a duration/,
    );
  });

  it('trusts a resolved API key for 30 s by default, 0 turning the cache off, at most 5 minutes', () => {
    expect(loadConfig(required).security.apiKeyCacheTtlMs).toBe(30_000);
    expect(loadConfig({ ...required, HOOKSTREAM_API_KEY_CACHE_TTL: '0s' }).security.apiKeyCacheTtlMs).toBe(0);
    expect(() => loadConfig({ ...required, HOOKSTREAM_API_KEY_CACHE_TTL: '10m' })).toThrow(
      /HOOKSTREAM_API_KEY_CACHE_TTL: 10m is longer than 300000 ms/,
    );
  });

  it('trusts no proxy by default, the addresses given, and refuses a hop count', () => {
    expect(loadConfig(required).security.trustProxy).toBeNull();
    expect(
      loadConfig({ ...required, HOOKSTREAM_TRUST_PROXY: 'loopback, 10.0.0.0/8' }).security.trustProxy,
    ).toBe('loopback, 10.0.0.0/8');
    expect(() => loadConfig({ ...required, HOOKSTREAM_TRUST_PROXY: '2' })).toThrow(
      /HOOKSTREAM_TRUST_PROXY: "2" is a hop count; give the proxies' addresses/,
    );
  });

  it('defaults endpoints to 1 concurrent request, configurable up to the 100 the API accepts', () => {
    const concurrency = (value?: string) =>
      loadConfig({
        ...required,
        ...(value === undefined ? {} : { HOOKSTREAM_ENDPOINT_MAX_CONCURRENCY: value }),
      }).delivery.defaultMaxConcurrency;
    expect(concurrency()).toBe(1);
    expect(concurrency(String(MAX_ENDPOINT_CONCURRENCY))).toBe(100);
    // Above it, an endpoint created with the default could not be PATCHed with its own value.
    expect(() => concurrency('101')).toThrow(/HOOKSTREAM_ENDPOINT_MAX_CONCURRENCY: 101 is outside 1..100/);
    expect(() => concurrency('0')).toThrow(/HOOKSTREAM_ENDPOINT_MAX_CONCURRENCY: 0 is outside 1..100/);
  });

  it('runs one worker per core by default, or the count given, 1 to 64', () => {
    expect(loadConfig(required).workers).toBe(usableCores());
    expect(loadConfig({ ...required, HOOKSTREAM_WORKERS: 'auto' }).workers).toBe(usableCores());
    expect(loadConfig({ ...required, HOOKSTREAM_WORKERS: '3' }).workers).toBe(3);
    expect(() => loadConfig({ ...required, HOOKSTREAM_WORKERS: '0' })).toThrow(
      /HOOKSTREAM_WORKERS: 0 is outside 1..64/,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_WORKERS: 'many' })).toThrow(
      /HOOKSTREAM_WORKERS: "many" is not a whole number/,
    );
  });

  it('serves HTTP from half the workers by default (rounded up), all, or the count given, never more than the workers', () => {
    const http = (env: Record<string, string>): number => loadConfig({ ...required, ...env }).httpWorkers;
    expect(http({ HOOKSTREAM_WORKERS: '1' })).toBe(1);
    expect(http({ HOOKSTREAM_WORKERS: '2' })).toBe(1);
    expect(http({ HOOKSTREAM_WORKERS: '5', HOOKSTREAM_HTTP_WORKERS: 'auto' })).toBe(3);
    expect(http({ HOOKSTREAM_WORKERS: '4', HOOKSTREAM_HTTP_WORKERS: '2' })).toBe(2);
    expect(http({ HOOKSTREAM_WORKERS: '4', HOOKSTREAM_HTTP_WORKERS: 'all' })).toBe(4);
    expect(() => loadConfig({ ...required, HOOKSTREAM_WORKERS: '2', HOOKSTREAM_HTTP_WORKERS: '3' })).toThrow(
      /HOOKSTREAM_HTTP_WORKERS: 3 is outside 1..2/,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_HTTP_WORKERS: '0' })).toThrow(
      /HOOKSTREAM_HTTP_WORKERS: 0 is outside 1\.\./,
    );
  });

  it('mints portal links for 15 minutes by default, at most an hour, the default never past the maximum', () => {
    expect(loadConfig(required).portal).toEqual({ linkTtlMs: 900_000, linkMaxTtlMs: 3_600_000 });
    expect(
      loadConfig({ ...required, HOOKSTREAM_PORTAL_LINK_TTL: '2m', HOOKSTREAM_PORTAL_LINK_MAX_TTL: '8h' })
        .portal,
    ).toEqual({ linkTtlMs: 120_000, linkMaxTtlMs: 28_800_000 });
    expect(() => loadConfig({ ...required, HOOKSTREAM_PORTAL_LINK_TTL: '2h' })).toThrow(
      /HOOKSTREAM_PORTAL_LINK_TTL must not be longer than HOOKSTREAM_PORTAL_LINK_MAX_TTL/,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_PORTAL_LINK_MAX_TTL: '5s' })).toThrow(
      /HOOKSTREAM_PORTAL_LINK_MAX_TTL: 5s is shorter than 10000 ms/,
    );
  });

  it('keeps the events feed 7 days with a 16 MiB write buffer, reading plain cursors, unless told otherwise', () => {
    expect(loadConfig(required).events).toEqual({
      retentionMs: 7 * 86_400_000,
      bufferBytes: 16 * 1024 * 1024,
      acceptPlainCursors: true,
    });
    const set = loadConfig({
      ...required,
      HOOKSTREAM_EVENTS_RETENTION: '36h',
      HOOKSTREAM_EVENTS_BUFFER: '4MiB',
      HOOKSTREAM_ACCEPT_PLAIN_CURSORS: 'false',
    });
    expect(set.events).toEqual({
      retentionMs: 36 * 3_600_000,
      bufferBytes: 4 * 1024 * 1024,
      acceptPlainCursors: false,
    });
    expect(() => loadConfig({ ...required, HOOKSTREAM_EVENTS_RETENTION: '10ms' })).toThrow(
      /HOOKSTREAM_EVENTS_RETENTION/,
    );
  });

  it('runs two replay jobs per process, 1,000 records a chunk, on a 30 s lease unless told otherwise', () => {
    expect(loadConfig(required).replayJobs).toEqual({ perProcess: 2, chunkRecords: 1000, leaseMs: 30_000 });
    const set = loadConfig({
      ...required,
      HOOKSTREAM_REPLAY_JOBS_PER_PROCESS: '0',
      HOOKSTREAM_REPLAY_CHUNK: '200',
      HOOKSTREAM_REPLAY_JOB_LEASE: '5s',
    });
    expect(set.replayJobs).toEqual({ perProcess: 0, chunkRecords: 200, leaseMs: 5_000 });
    expect(() => loadConfig({ ...required, HOOKSTREAM_REPLAY_CHUNK: '0' })).toThrow(
      /HOOKSTREAM_REPLAY_CHUNK/,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_REPLAY_JOB_LEASE: '100ms' })).toThrow(
      /HOOKSTREAM_REPLAY_JOB_LEASE/,
    );
  });

  it('sends each operational notification at most every 15 minutes per endpoint unless told otherwise', () => {
    expect(loadConfig(required).notificationIntervalMs).toBe(15 * 60_000);
    expect(loadConfig({ ...required, HOOKSTREAM_NOTIFICATION_INTERVAL: '1h' }).notificationIntervalMs).toBe(
      3_600_000,
    );
    expect(() => loadConfig({ ...required, HOOKSTREAM_NOTIFICATION_INTERVAL: '100ms' })).toThrow(
      /HOOKSTREAM_NOTIFICATION_INTERVAL: 100ms is shorter than 1000 ms/,
    );
  });

  it('re-reads the cluster-wide gauges every 15 s unless told otherwise, never more than once a second', () => {
    expect(loadConfig(required).ops.gaugeRefreshMs).toBe(15_000);
    expect(loadConfig({ ...required, HOOKSTREAM_GAUGE_REFRESH: '1m' }).ops.gaugeRefreshMs).toBe(60_000);
    expect(() => loadConfig({ ...required, HOOKSTREAM_GAUGE_REFRESH: '200ms' })).toThrow(
      /HOOKSTREAM_GAUGE_REFRESH: 200ms is shorter than 1000 ms/,
    );
  });

  it('checks no tenant against its input topic by default, and reads the per-topic list against HOOKSTREAM_INPUT_TOPICS', () => {
    expect(loadConfig(required).kafka.inputTopicTenants).toBeNull();
    const tenant = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';
    const config = loadConfig({
      ...required,
      HOOKSTREAM_INPUT_TOPICS: 'hookstream.events,platform.events.billing',
      HOOKSTREAM_INPUT_TOPIC_TENANTS: `hookstream.events=*,platform.events.billing=${tenant}`,
    });
    expect(config.kafka.inputTopicTenants?.get('platform.events.billing')).toEqual(new Set([tenant]));
    expect(() =>
      loadConfig({
        ...required,
        HOOKSTREAM_INPUT_TOPICS: 'hookstream.events,platform.events.billing',
        HOOKSTREAM_INPUT_TOPIC_TENANTS: 'hookstream.events=*,platform.events.billing=nobody',
      }),
    ).toThrow(
      'HOOKSTREAM_INPUT_TOPIC_TENANTS: entry "platform.events.billing=nobody": "nobody" is not a tenant UUID',
    );
  });

  it('parses the egress allowlist into CIDR ranges', () => {
    const config = loadConfig({ ...required, HOOKSTREAM_EGRESS_ALLOWLIST: '127.0.0.0/8, ::1/128' });
    expect(config.security.egressAllowlist.map((c) => c.text)).toEqual(['127.0.0.0/8', '::1/128']);
  });

  it('keeps previous secret keys for decrypting after a key rotation', () => {
    const config = loadConfig({ ...required, HOOKSTREAM_SECRET_KEY_PREVIOUS: 'p'.repeat(32) });
    expect(config.security.secretKeys).toEqual(['k'.repeat(32), 'p'.repeat(32)]);
  });
});

describe('units', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['5d', 432_000_000],
  ])('parses %s', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it('rejects durations without a unit', () =>
    expect(() => parseDurationMs('5')).toThrow('is not a duration'));
  it('parses sizes', () => expect(parseSizeBytes('256KiB')).toBe(262_144));
  it('formats durations as topic-safe names', () => {
    expect([5000, 30_000, 120_000, 3_600_000, 1500].map(formatDuration)).toEqual([
      '5s',
      '30s',
      '2m',
      '1h',
      '1500ms',
    ]);
  });
});
