import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { notificationMarkFor } from '../../src/config/config.module';
import { createDataSource } from '../../src/database/data-source';
import { CatalogueSchemas } from '../../src/domain/catalogue-schemas';
import { decodeTask } from '../../src/domain/delivery-task';
import { endpointChangeMarker } from '../../src/domain/endpoint-change-marker';
import type { ConsumedRecord } from '../../src/domain/records';
import { TransientError } from '../../src/domain/transient';
import { EndpointCache } from '../../src/endpoints/endpoint-cache';
import { EndpointDirectory } from '../../src/endpoints/endpoint-directory';
import { EndpointsRepository } from '../../src/endpoints/endpoints.repository';
import { SecretCipher } from '../../src/endpoints/secrets/secret-cipher';
import { FanoutService } from '../../src/fanout/fanout.service';
import { HeldDeliveries } from '../../src/retry/held-deliveries';
import {
  endpointRow,
  FakeClock,
  RecordingProducer,
  silentLogger,
  testConfig,
  testTaskSeal,
} from '../../src/testing/fakes';
import { TenantsRepository } from '../../src/tenants/tenants.repository';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FreezableRelay } from '../support/freezable-relay';
import { waitFor } from '../support/wait';

const config = testConfig({ HOOKSTREAM_TOPIC_NAMESPACE: 'hs-hang', HOOKSTREAM_FANOUT_DB_TIMEOUT: '1s' });
const SECRET_KEY = 'c'.repeat(40);

/** The data source's pg pool (max 10, as in production: dataSourceOptions). */
const poolOf = (dataSource: DataSource): Pool => (dataSource.driver as PostgresDriver).master as Pool;

/** `count` connections open and idle in the pool: as many queries at once, each holding one a moment. */
async function warmPool(dataSource: DataSource, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, () => dataSource.query('SELECT pg_sleep(0.2)')));
  expect(poolOf(dataSource).idleCount).toBeGreaterThanOrEqual(count);
}

/**
 * The fan-out over the real endpoint cache and held-deliveries table, reaching PostgreSQL through a
 * relay that freezes: a database that hangs rather than refuses, as in a failover.
 */
describe('the fan-out while PostgreSQL hangs rather than refuses (HOOKSTREAM_FANOUT_DB_TIMEOUT)', () => {
  let database: TestDatabase;
  const relays: FreezableRelay[] = [];
  const dataSources: DataSource[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    // The relays first: a frozen connection's end would wait for an answer that never comes.
    for (const relay of relays) await relay.close();
    for (const dataSource of dataSources) await dataSource.destroy().catch(() => undefined);
    await database?.drop();
  });

  /** A data source built as the service builds it, reaching PostgreSQL through a relay of its own. */
  async function throughRelay(): Promise<{ relay: FreezableRelay; dataSource: DataSource }> {
    const url = new URL(database.url);
    const relay = new FreezableRelay({ host: url.hostname, port: Number(url.port || 5432) });
    relays.push(relay);
    url.port = String(await relay.listen());
    const dataSource = createDataSource(url.toString(), silentLogger);
    dataSources.push(dataSource);
    await dataSource.initialize();
    return { relay, dataSource };
  }

  /** A tenant with one endpoint in the database, and an endpoint cache over it that has read nothing yet. */
  async function oneEndpoint(dataSource: DataSource) {
    const tenantId = randomUUID();
    const endpointId = randomUUID();
    const cipher = new SecretCipher([SECRET_KEY]);
    await dataSource.query(`INSERT INTO tenants (id, name) VALUES ($1, 'hang')`, [tenantId]);
    const endpoints = new EndpointsRepository(dataSource);
    await endpoints.insertWithinQuota(endpointRow(endpointId, tenantId, cipher, new Date()), 100);
    const cache = new EndpointCache(
      new EndpointDirectory(endpoints, cipher, silentLogger, new Registry()),
      new TenantsRepository(dataSource),
      config,
      new FakeClock(),
      silentLogger,
    );
    return { tenantId, endpointId, cache };
  }

  /** The fan-out over a real endpoint cache (nothing cached) and held-deliveries table. */
  function fanoutOver(dataSource: DataSource, cache: EndpointCache, producer: RecordingProducer) {
    const held = new HeldDeliveries(dataSource);
    return new FanoutService(
      config,
      cache,
      producer,
      // The endpoint's circuit is open: every task of it is held in PostgreSQL.
      { room: () => 0, hold: (...args: Parameters<HeldDeliveries['hold']>) => held.hold(...args) },
      { append: () => undefined },
      new CatalogueSchemas(),
      new FakeClock(),
      silentLogger,
      testTaskSeal,
      notificationMarkFor(config),
      new Registry(),
    );
  }

  it('ends each batch: the marker refresh goes on, the hold becomes a send, an uncached tenant a transient error', async () => {
    const { relay, dataSource } = await throughRelay();
    const { tenantId, endpointId, cache } = await oneEndpoint(dataSource);
    await cache.reload(); // The endpoint and its tenant cached; no LISTEN (not started).
    const producer = new RecordingProducer();
    const fanout = fanoutOver(dataSource, cache, producer);
    // One idle connection each for the refresh, the hold and the tenant lookup.
    await warmPool(dataSource, 3);
    let offset = 0;
    const record = (key: string, value: string, headers: Record<string, string> = {}): ConsumedRecord => ({
      topic: 'platform.events',
      partition: 0,
      offset: String(offset++),
      key,
      value: Buffer.from(value),
      headers,
      timestampMs: Date.now(),
    });
    const event = (id: string, tenant = tenantId) =>
      record(
        tenant,
        JSON.stringify({ specversion: '1.0', id, source: '/s', type: 'record.updated', tenantid: tenant }),
      );
    const marker = endpointChangeMarker(tenantId, endpointId);

    relay.freezeAll();
    const startedAt = Date.now();
    await fanout.fanOut({
      topic: 'platform.events',
      partition: 0,
      records: [
        record(tenantId, marker.value as string, marker.headers as Record<string, string>),
        event('e-1'),
      ],
    });
    // One deadline for the refresh, one for the hold, and the batch is done.
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(
      producer.to(config.kafka.deliveriesTopic).map((task) => decodeTask(task.value as Buffer).eventId),
    ).toEqual(['e-1']);

    const unknown = randomUUID();
    await expect(
      fanout.fanOut({ topic: 'platform.events', partition: 0, records: [event('e-2', unknown)] }),
    ).rejects.toThrow(TransientError);
    // The three calls' connections are closed by this side at their deadlines, not left to keepalive.
    await waitFor(() => relay.frozenClosedByClient() >= 3, {
      what: () => `3 frozen connections closed by the client; ${relay.frozenClosedByClient()} were`,
      timeoutMs: 2_000,
    });
  });

  it('gives the pool slots of timed-out tenant lookups back: more lookups than the pool holds leave it usable', async () => {
    const { relay, dataSource } = await throughRelay();
    const cache = new EndpointCache(
      new EndpointDirectory(
        new EndpointsRepository(dataSource),
        new SecretCipher([SECRET_KEY]),
        silentLogger,
        new Registry(),
      ),
      new TenantsRepository(dataSource),
      config,
      new FakeClock(),
      silentLogger,
    );
    const fanout = fanoutOver(dataSource, cache, new RecordingProducer());
    const pool = poolOf(dataSource);
    await warmPool(dataSource, pool.options.max);

    relay.freezeAll();
    // Twelve batches, each an event of a tenant no one has looked up: twelve lookups, one per tenant.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, index) => {
        const tenant = randomUUID();
        const value = JSON.stringify({
          specversion: '1.0',
          id: `t-${index}`,
          source: '/s',
          type: 'record.updated',
          tenantid: tenant,
        });
        return fanout.fanOut({
          topic: 'platform.events',
          partition: 0,
          records: [
            {
              topic: 'platform.events',
              partition: 0,
              offset: String(index),
              key: tenant,
              value: Buffer.from(value),
              headers: {},
              timestampMs: Date.now(),
            },
          ],
        });
      }),
    );
    expect(
      outcomes.map((outcome) => outcome.status === 'rejected' && outcome.reason instanceof TransientError),
    ).toEqual(Array.from({ length: 12 }, () => true));
    // The ten connections the lookups were sent on, closed by this side at the deadline.
    await waitFor(() => relay.frozenClosedByClient() >= pool.options.max, {
      what: () =>
        `${pool.options.max} frozen connections closed by the client; ${relay.frozenClosedByClient()} were`,
      timeoutMs: 2_000,
    });

    // The database answers again (on new connections): the pool has room for them at once.
    relay.passNew();
    const startedAt = Date.now();
    await expect(dataSource.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });

  it('fails the lookup of an uncached endpoint at the deadline, so its deliveries retry it once PostgreSQL answers', async () => {
    const { relay, dataSource } = await throughRelay();
    // Nothing cached: the endpoint was created a moment ago on another instance.
    const { tenantId, endpointId, cache } = await oneEndpoint(dataSource);
    await warmPool(dataSource, 1);

    relay.freezeAll();
    await expect(cache.lookup(endpointId)).rejects.toThrow(TransientError);
    await waitFor(() => relay.frozenClosedByClient() >= 1, {
      what: () => `the frozen lookup's connection closed by the client; ${relay.frozenClosedByClient()} were`,
      timeoutMs: 2_000,
    });

    relay.passNew();
    await expect(cache.lookup(endpointId)).resolves.toMatchObject({ id: endpointId, tenantId });
  });
});
