import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
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

const config = testConfig({ HOOKSTREAM_TOPIC_NAMESPACE: 'hs-hang', HOOKSTREAM_FANOUT_DB_TIMEOUT: '1s' });
const SECRET_KEY = 'c'.repeat(40);

/**
 * The fan-out over the real endpoint cache and held-deliveries table, reaching PostgreSQL through a
 * relay that freezes: a database that hangs rather than refuses, as in a failover.
 */
describe('the fan-out while PostgreSQL hangs rather than refuses (HOOKSTREAM_FANOUT_DB_TIMEOUT)', () => {
  let database: TestDatabase;
  let relay: FreezableRelay;
  let dataSource: DataSource;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    // The relay first: a frozen connection's end would wait for an answer that never comes.
    await relay?.close();
    await dataSource?.destroy().catch(() => undefined);
    await database?.drop();
  });

  it('ends each batch: the marker refresh goes on, the hold becomes a send, an uncached tenant a transient error', async () => {
    const url = new URL(database.url);
    relay = new FreezableRelay({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(await relay.listen());
    dataSource = createDataSource(url.toString(), silentLogger);
    await dataSource.initialize();

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
    await cache.reload(); // The endpoint and its tenant cached; no LISTEN (not started).
    const held = new HeldDeliveries(dataSource);
    const producer = new RecordingProducer();
    const fanout = new FanoutService(
      config,
      cache,
      producer,
      // The endpoint's circuit is open: every task of it is held in PostgreSQL.
      { room: () => 0, hold: (request) => held.hold(request) },
      { append: () => undefined },
      new CatalogueSchemas(),
      new FakeClock(),
      silentLogger,
      testTaskSeal,
      notificationMarkFor(config),
      new Registry(),
    );
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
  });
});
