import { notificationMarkFor } from '../config/config.module';
import { NotificationPublisher } from '../delivery/notifications/notification-publisher';
import { CatalogueSchemas } from '../domain/catalogue-schemas';
import type { PlatformEvent } from '../domain/cloud-event';
import { deriveNotificationKeys, NotificationMark } from '../domain/notification-mark';
import { toDeadLetterRow } from '../domain/dead-letter';
import { decodeTask, deliveryIdFor } from '../domain/delivery-task';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import type { ConsumedRecord, OutgoingRecord } from '../domain/records';
import { endpointChangeMarker } from '../domain/endpoint-change-marker';
import { matchesEventType } from '../domain/subscription-matcher';
import { TransientError } from '../domain/transient';
import type { EventRecord } from '../event-log/events.repository';
import type { HoldRequest } from '../retry/held-deliveries';
import {
  endpoint,
  FakeClock,
  RecordingProducer,
  silentLogger,
  testConfig,
  testNotificationMark,
  testTaskSeal,
} from '../testing/fakes';
import { FanoutService } from './fanout.service';

const config = testConfig({ HOOKSTREAM_TOPIC_NAMESPACE: 'hs', HOOKSTREAM_INPUT_TOPICS: 'platform.events' });
const TENANT = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';
const deliveries = config.kafka.deliveriesTopic;
const dlq = config.kafka.dlqTopic;

function event(id: string, type = 'record.updated', tenantid = TENANT): string {
  return JSON.stringify({
    specversion: '1.0',
    id,
    source: '/crm',
    type,
    time: '2026-12-02T12:00:00Z',
    tenantid,
    data: { id },
  });
}

let offset = 0;
function record(value: string | Buffer, headers: Record<string, string> = {}): ConsumedRecord {
  return {
    topic: 'platform.events',
    partition: 0,
    offset: String(offset++),
    key: TENANT,
    value: Buffer.from(value),
    headers,
    timestampMs: Date.UTC(2026, 11, 2, 12, 0, 1),
  };
}

function world(cached: EndpointSnapshot[], database: EndpointSnapshot[] = cached, fanoutConfig = config) {
  const endpoints = [...cached];
  const db = { down: false };
  const producer = new RecordingProducer();
  const held: HoldRequest[] = [];
  const feed: EventRecord[] = [];
  const unavailable = new Set<string>();
  /** What a slow endpoint's lane takes now; others take anything. */
  const roomOf = new Map<string, number>();
  let holdFails = false;
  const catalogue = new CatalogueSchemas();
  const fanout = new FanoutService(
    fanoutConfig,
    {
      match: (tenantId, type) =>
        endpoints.filter((e) => e.tenantId === tenantId && e.enabled && matchesEventType(e.eventTypes, type)),
      isKnownTenant: async (tenantId) => {
        if (db.down) throw new TransientError('PostgreSQL unavailable');
        return tenantId === TENANT;
      },
      refreshEndpoint: async (id) => {
        const found = database.find((e) => e.id === id);
        if (found && !endpoints.includes(found)) endpoints.push(found);
      },
    },
    producer,
    {
      room: (id) => (unavailable.has(id) ? 0 : (roomOf.get(id) ?? Number.POSITIVE_INFINITY)),
      hold: async (request) => {
        if (holdFails) throw new Error('database down');
        held.push(request);
      },
    },
    { append: (row) => feed.push(row) },
    catalogue,
    new FakeClock(),
    silentLogger,
    testTaskSeal,
    notificationMarkFor(fanoutConfig),
  );
  const fanOut = (...records: ConsumedRecord[]) =>
    fanout.fanOut({ topic: records[0]?.topic ?? 'platform.events', partition: 0, records });
  return {
    producer,
    held,
    feed,
    unavailable,
    roomOf,
    fanOut,
    db,
    catalogue,
    failHolds: () => (holdFails = true),
  };
}

const ops = endpoint({ id: '0a000000-0000-4000-8000-000000000004', eventTypes: ['hookstream.*'] });
const alsoOps = endpoint({ id: '0a000000-0000-4000-8000-000000000005', eventTypes: ['hookstream.*'] });
const everything = endpoint({ id: '0a000000-0000-4000-8000-000000000006', eventTypes: ['*'] });

/** A notification about `ops`, as the structured CloudEvent Hookstream writes. */
function notification(type: string, id = 'n-1', data: object = { endpoint: { id: ops.id } }) {
  return {
    specversion: '1.0',
    id,
    source: 'hookstream',
    subject: ops.id,
    type,
    time: '2026-12-02T12:00:00.000Z',
    tenantid: TENANT,
    data,
  };
}

function fromJson(json: ReturnType<typeof notification>): PlatformEvent {
  const { tenantid, specversion, ...rest } = json;
  return { ...rest, specversion: specversion as '1.0', tenantId: tenantid };
}

/** The record NotificationPublisher writes for it (the mark in its header), as the fan-out reads it. */
async function published(json: ReturnType<typeof notification>): Promise<ConsumedRecord> {
  const producer = new RecordingProducer();
  const event = fromJson(json);
  await new NotificationPublisher(config, producer, testNotificationMark).publish({
    type: event.type as 'hookstream.endpoint.failing',
    tenantId: event.tenantId,
    endpointId: event.subject!,
    atMs: Date.parse(event.time),
    data: event.data,
  });
  const [written] = producer.to(config.kafka.inputTopics[0]);
  return record(written.value as string, written.headers as Record<string, string>);
}

describe('FanoutService', () => {
  const orders = endpoint({ id: '0a000000-0000-4000-8000-000000000001', eventTypes: ['record.*'] });
  const status = endpoint({ id: '0a000000-0000-4000-8000-000000000002', eventTypes: ['status.changed'] });
  const strict = endpoint({ id: '0a000000-0000-4000-8000-000000000003', ordering: 'strict' });

  it('produces one task per matching endpoint, keyed by endpoint, with a delivery id derived from the event', async () => {
    const { producer, fanOut } = world([orders, status]);
    await fanOut(record(event('e-1')), record(event('e-2', 'status.changed')));
    const tasks = producer.to(deliveries);
    expect(tasks.map((t) => t.key)).toEqual([orders.id, status.id]);
    const first = decodeTask(tasks[0].value as Buffer);
    expect(first).toMatchObject({
      eventId: 'e-1',
      endpointId: orders.id,
      tenantId: TENANT,
      data: { id: 'e-1' },
    });
    expect(first.deliveryId).toBe(deliveryIdFor(TENANT, 'e-1', orders.id));
    expect(first.publishedAtMs).toBe(Date.UTC(2026, 11, 2, 12, 0, 1));
  });

  it('never gives a notification to the endpoint it is about, nor to endpoints subscribed to everything', async () => {
    const { producer, fanOut } = world([ops, alsoOps, everything]);
    await fanOut(await published(notification('hookstream.endpoint.failing')));
    expect(producer.to(deliveries).map((t) => t.key)).toEqual([alsoOps.id]);
  });

  describe("hookstream.* types: Hookstream's own notifications, marked by its publisher", () => {
    it('dead-letters a hookstream.* event without the mark as reserved_type, and delivers none of it', async () => {
      const { producer, feed, fanOut } = world([ops, alsoOps]);
      // What any producer allowed on an input topic can write: a disable that never happened.
      const forged = record(JSON.stringify(notification('hookstream.endpoint.disabled', 'n-forged')), {
        'content-type': 'application/cloudevents+json',
      });
      await fanOut(forged);
      expect(producer.to(deliveries)).toEqual([]);
      expect(feed).toEqual([]);
      expect(producer.to(dlq)).toEqual([
        expect.objectContaining({
          value: forged.value,
          headers: expect.objectContaining({
            'hs-reason': 'reserved_type',
            'hs-reason-detail':
              'hookstream.endpoint.disabled: hookstream.* types are published by Hookstream only',
          }),
        }),
      ]);
    });

    it('refuses a mark under another key, a mark copied onto other data, and a garbled one', async () => {
      const { producer, fanOut } = world([ops, alsoOps]);
      const foreign = new NotificationMark(deriveNotificationKeys(['f'.repeat(32)]));
      const genuine = await published(notification('hookstream.endpoint.disabled', 'n-1'));
      const altered = notification('hookstream.endpoint.disabled', 'n-1', { reason: 'made up' });
      const marked = (mark: string, event = notification('hookstream.endpoint.disabled', 'n-2')) =>
        record(JSON.stringify(event), { 'hs-notification-mac': mark });
      await fanOut(
        marked(foreign.mark(fromJson(notification('hookstream.endpoint.disabled', 'n-2')))),
        marked(genuine.headers['hs-notification-mac'], altered),
        marked('AAAA'),
      );
      expect(producer.to(deliveries)).toEqual([]);
      expect(
        producer.to(dlq).map((r) => [r.headers?.['hs-reason'], r.headers?.['hs-reason-detail']]),
      ).toEqual(
        Array(3).fill([
          'reserved_type',
          'hookstream.endpoint.disabled: its notification mark does not verify',
        ]),
      );
    });

    it('delivers a notification marked under a previous HOOKSTREAM_SECRET_KEY (a key rotation)', async () => {
      const rotated = testConfig({
        HOOKSTREAM_TOPIC_NAMESPACE: 'hs',
        HOOKSTREAM_INPUT_TOPICS: 'platform.events',
        HOOKSTREAM_SECRET_KEY: 'n'.repeat(32),
        HOOKSTREAM_SECRET_KEY_PREVIOUS: config.security.secretKeys[0],
      });
      const { producer, fanOut } = world([alsoOps], [alsoOps], rotated);
      await fanOut(await published(notification('hookstream.endpoint.failing')));
      expect(producer.to(deliveries).map((t) => t.key)).toEqual([alsoOps.id]);
    });

    it('takes an unmarked one only with HOOKSTREAM_ACCEPT_UNMARKED_NOTIFICATIONS (a rolling upgrade); a bad mark never', async () => {
      const upgrading = testConfig({
        HOOKSTREAM_TOPIC_NAMESPACE: 'hs',
        HOOKSTREAM_INPUT_TOPICS: 'platform.events',
        HOOKSTREAM_ACCEPT_UNMARKED_NOTIFICATIONS: 'true',
      });
      const { producer, fanOut } = world([alsoOps], [alsoOps], upgrading);
      await fanOut(
        record(JSON.stringify(notification('hookstream.endpoint.failing', 'n-old'))),
        record(JSON.stringify(notification('hookstream.endpoint.failing', 'n-bad')), {
          'hs-notification-mac': 'AAAA',
        }),
      );
      expect(producer.to(deliveries).map((t) => decodeTask(t.value as Buffer).eventId)).toEqual(['n-old']);
      expect(producer.to(dlq).map((r) => r.headers?.['hs-reason'])).toEqual(['reserved_type']);
    });

    it('skips the catalogue for a marked notification: an entry under the reserved prefix cannot dead-letter them', async () => {
      const { producer, fanOut, catalogue } = world([alsoOps]);
      catalogue.apply({
        name: 'hookstream.endpoint.failing',
        schema: JSON.stringify({ type: 'object', required: ['nothing-has-this'] }),
        validation: 'reject',
        deprecated: false,
        version: 1,
      });
      await fanOut(await published(notification('hookstream.endpoint.failing')));
      expect(producer.to(dlq)).toEqual([]);
      expect(producer.to(deliveries).map((t) => t.key)).toEqual([alsoOps.id]);
    });
  });

  it('writes every accepted event to the feed, matched or not, with its data as delivered; not bad input', async () => {
    const { producer, feed, fanOut } = world([orders]);
    await fanOut(
      record(event('e-10')),
      record(event('e-11', 'nobody.listens')),
      record('{not json'),
      record(event('e-12', 'record.updated', '99999999-9999-4999-8999-999999999999')),
      record(event('e-10')),
    );
    expect(feed.map((row) => [row.eventId, row.type])).toEqual([
      ['e-10', 'record.updated'],
      ['e-11', 'nobody.listens'],
    ]);
    expect(feed[0]).toMatchObject({
      tenantId: TENANT,
      source: '/crm',
      subject: null,
      time: '2026-12-02T12:00:00.000Z',
    });
    const delivered = decodeTask(producer.to(deliveries)[0].value as Buffer);
    expect(feed[0].data?.toString()).toBe(JSON.stringify(delivered.data));
  });

  it('dead-letters bad input with its reason and position, and fans the rest of the batch out', async () => {
    const { producer, fanOut } = world([orders]);
    const bad = record('{not json');
    await fanOut(bad, record(event('e-3')));
    expect(producer.to(dlq)).toEqual([
      expect.objectContaining({
        value: Buffer.from('{not json'),
        headers: expect.objectContaining({
          'hs-reason': 'invalid_json',
          'hs-origin': `platform.events/0/${bad.offset}`,
        }),
      }),
    ]);
    expect(producer.to(deliveries)).toHaveLength(1);
  });

  it("dead-letters an event failing its type's reject-mode schema as schema_mismatch, naming the path", async () => {
    const { producer, feed, fanOut, catalogue } = world([orders]);
    catalogue.apply({
      name: 'record.updated',
      schema: JSON.stringify({ type: 'object', required: ['id', 'status'] }),
      validation: 'reject',
      deprecated: false,
      version: 4,
    });
    const bad = record(event('e-40'));
    await fanOut(bad, record(event('e-41', 'record.created')));
    expect(producer.to(dlq)).toEqual([
      expect.objectContaining({
        value: bad.value,
        headers: expect.objectContaining({
          'hs-reason': 'schema_mismatch',
          'hs-reason-detail': 'data/status is required (schema of event type record.updated, version 4)',
        }),
      }),
    ]);
    expect(feed.map((row) => row.eventId)).toEqual(['e-41']);
    expect(producer.to(deliveries).map((task) => decodeTask(task.value as Buffer).eventId)).toEqual(['e-41']);
  });

  it('dead-letters an event of a tenant that does not exist as unknown_tenant', async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(record(event('e-4', 'record.updated', '99999999-9999-4999-8999-999999999999')));
    expect(producer.to(dlq)[0].headers).toMatchObject({ 'hs-reason': 'unknown_tenant' });
    expect(producer.to(deliveries)).toEqual([]);
  });

  it("delivers an event whose tenant id is the tenant's UUID in upper case (UUIDs are case-insensitive)", async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(record(event('e-upper', 'record.updated', TENANT.toUpperCase())));
    expect(producer.to(dlq)).toEqual([]);
    expect(decodeTask(producer.to(deliveries)[0].value as Buffer)).toMatchObject({
      eventId: 'e-upper',
      endpointId: orders.id,
      tenantId: TENANT,
    });
  });

  it("dead-letters an event whose record key is not its tenantid (another tenant's, none) as tenant_key_mismatch", async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(
      { ...record(event('e-other-key')), key: '99999999-9999-4999-8999-999999999999' },
      { ...record(event('e-no-key')), key: null },
      { ...record(event('e-upper-key')), key: TENANT.toUpperCase() },
    );
    expect(producer.to(dlq).map((r) => r.headers?.['hs-reason'])).toEqual([
      'tenant_key_mismatch',
      'tenant_key_mismatch',
    ]);
    expect(producer.to(deliveries).map((t) => decodeTask(t.value as Buffer).eventId)).toEqual([
      'e-upper-key',
    ]);
  });

  it("dead-letters an event whose tenant is not on its topic's list as tenant_not_allowed_on_topic", async () => {
    const listed = testConfig({
      HOOKSTREAM_TOPIC_NAMESPACE: 'hs',
      HOOKSTREAM_INPUT_TOPICS: 'platform.events,platform.events.billing,platform.events.crm',
      HOOKSTREAM_INPUT_TOPIC_TENANTS: `platform.events=*,platform.events.billing=${TENANT},platform.events.crm=99999999-9999-4999-8999-999999999999`,
    });
    const { producer, fanOut, feed } = world([orders], [orders], listed);
    await fanOut({ ...record(event('e-billing')), topic: 'platform.events.billing' });
    await fanOut({ ...record(event('e-crm')), topic: 'platform.events.crm' });
    await fanOut({ ...record(event('e-api')), topic: 'platform.events' });
    const [refused] = producer.to(dlq);
    expect(producer.to(dlq)).toHaveLength(1);
    expect(refused.headers).toMatchObject({
      'hs-reason': 'tenant_not_allowed_on_topic',
      'hs-reason-detail': `tenant ${TENANT} is not allowed on topic platform.events.crm (HOOKSTREAM_INPUT_TOPIC_TENANTS)`,
    });
    expect(JSON.parse(String(refused.value)).id).toBe('e-crm');
    // Never delivered, nor shown in the events feed as published.
    expect(producer.to(deliveries).map((t) => decodeTask(t.value as Buffer).eventId)).toEqual([
      'e-billing',
      'e-api',
    ]);
    expect(feed.map((row) => row.eventId)).toEqual(['e-billing', 'e-api']);
  });

  describe('bad input that names a tenant it was not checked against (decision 95)', () => {
    const OTHER = '99999999-9999-4999-8999-999999999999';
    const listed = testConfig({
      HOOKSTREAM_TOPIC_NAMESPACE: 'hs',
      HOOKSTREAM_INPUT_TOPICS: 'platform.events,platform.events.billing',
      HOOKSTREAM_INPUT_TOPIC_TENANTS: `platform.events=*,platform.events.billing=${TENANT}`,
    });
    /** The row the dead-letter mirror makes of a dead letter: whose list it lands in. */
    const rowOf = (dead: OutgoingRecord) =>
      toDeadLetterRow({
        topic: dlq,
        partition: 0,
        offset: '0',
        key: dead.key === null ? null : String(dead.key),
        value: dead.value === null ? null : Buffer.from(dead.value),
        headers: Object.fromEntries(Object.entries(dead.headers ?? {}).map(([k, v]) => [k, String(v)])),
        timestampMs: 0,
      });
    /** OTHER's event without a `type`: a parse failure that names OTHER. */
    const untyped = (id: string, tenantid = OTHER) =>
      JSON.stringify({ specversion: '1.0', id, source: '/s', tenantid });

    it('files a parse failure under no tenant when its key or its topic may not speak for the tenant it names', async () => {
      const { producer, fanOut } = world([orders], [orders], listed);
      // The billing principal, which may speak for TENANT only, writes OTHER's id on its own topic.
      await fanOut({ ...record(untyped('e-forged-1')), topic: 'platform.events.billing', key: TENANT });
      await fanOut({ ...record(untyped('e-forged-2')), topic: 'platform.events.billing', key: OTHER });
      // A malformed endpoint-change marker is refused before parsing too.
      await fanOut({
        ...record(untyped('e-forged-3'), { 'hs-control': 'nonsense' }),
        topic: 'platform.events.billing',
        key: OTHER,
      });
      const rows = producer.to(dlq).map(rowOf);
      expect(rows.map((row) => [row.eventId, row.reason, row.tenantId])).toEqual([
        ['e-forged-1', 'missing_attribute', null],
        ['e-forged-2', 'missing_attribute', null],
        ['e-forged-3', 'invalid_attribute', null],
      ]);
      expect(producer.to(dlq).map((dead) => dead.headers?.['hs-unattributed'])).toEqual([
        'tenant_key_mismatch',
        'tenant_not_allowed_on_topic',
        'tenant_not_allowed_on_topic',
      ]);
      expect(rows[0].lastError).toContain('type');
    });

    it('files a parse failure under the tenant it names when its key and topic agree', async () => {
      const { producer, fanOut } = world([orders], [orders], listed);
      await fanOut({ ...record(untyped('e-own', TENANT)), topic: 'platform.events.billing' });
      await fanOut({ ...record(untyped('e-api')), key: OTHER });
      expect(
        producer
          .to(dlq)
          .map(rowOf)
          .map((row) => [row.eventId, row.tenantId]),
      ).toEqual([
        ['e-own', TENANT],
        ['e-api', OTHER],
      ]);
    });

    it('checks the tenant the truncated dead-letter copy names, not the one its full value named', async () => {
      const { producer, fanOut } = world([orders]);
      // Too large: the copy keeps 256 KiB of the value, so the mirror reads the tenant from ce_tenantid.
      const huge = JSON.stringify({ ...JSON.parse(event('e-huge')), pad: 'x'.repeat(300 * 1024) });
      await fanOut(record(huge, { ce_tenantid: OTHER }));
      const [dead] = producer.to(dlq);
      expect(dead.headers).toMatchObject({
        'hs-reason': 'too_large',
        'hs-unattributed': 'tenant_key_mismatch',
      });
      expect(rowOf(dead).tenantId).toBeNull();
    });
  });

  it('seals every task it writes with the MAC the delivery engine verifies', async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(record(event('e-sealed')));
    expect(testTaskSeal.open(producer.to(deliveries)[0].value as Buffer).sealed).toBe(true);
  });

  it('fans an event id out once when it is published again, but again when the same record is read again', async () => {
    const { producer, fanOut } = world([orders]);
    const once = record(event('e-5'));
    await fanOut(once);
    await fanOut(record(event('e-5')));
    expect(producer.to(deliveries)).toHaveLength(1);
    await fanOut(once);
    expect(producer.to(deliveries)).toHaveLength(2);
  });

  it('fans an event id out once when one batch carries it twice', async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(record(event('e-twice')), record(event('e-twice')));
    expect(producer.to(deliveries)).toHaveLength(1);
  });

  it('fans out an event published again after its first record failed for good and was isolated', async () => {
    const { producer, fanOut } = world([orders]);
    // The broker refuses its task for good (a deliveries topic with a smaller max.message.bytes).
    producer.refuse = (topic) => (topic === deliveries ? new Error('MESSAGE_TOO_LARGE') : null);
    const first = record(event('e-isolated'));
    for (let attempt = 0; attempt < 3; attempt++) {
      await expect(fanOut(first)).rejects.toThrow('MESSAGE_TOO_LARGE');
    }
    // The runner isolates the record (handler_failed); the topic is fixed and the event published again.
    producer.refuse = () => null;
    await fanOut(record(event('e-isolated')));
    expect(producer.to(deliveries).map((t) => decodeTask(t.value as Buffer).eventId)).toEqual(['e-isolated']);
  });

  it('holds the task of an endpoint this process knows is down, except a strict one', async () => {
    const { producer, held, unavailable, fanOut } = world([orders, strict]);
    unavailable.add(orders.id);
    unavailable.add(strict.id);
    await fanOut(record(event('e-6')));
    expect(held.map((h) => [h.endpointId, h.state.lastError])).toEqual([
      [orders.id, 'endpoint unavailable when fanned out (circuit open or lane hanging)'],
    ]);
    expect(producer.to(deliveries).map((t) => t.key)).toEqual([strict.id]);
  });

  it('sends a slow endpoint only what its lane takes, counted across the batch, and holds the rest', async () => {
    const { producer, held, roomOf, fanOut } = world([orders, status]);
    roomOf.set(orders.id, 2);
    await fanOut(
      record(event('e-20')),
      record(event('e-21')),
      record(event('e-22', 'status.changed')),
      record(event('e-23')),
      record(event('e-24')),
    );
    const sent = producer.to(deliveries).map((t) => decodeTask(t.value as Buffer).eventId);
    expect(sent).toEqual(['e-20', 'e-21', 'e-22']);
    expect(held.map((h) => [h.endpointId, decodeTask(h.task).eventId])).toEqual([
      [orders.id, 'e-23'],
      [orders.id, 'e-24'],
    ]);
  });

  it('holds a batch retried after a failed send under the same delivery ids, so it is held once', async () => {
    const { producer, held, unavailable, fanOut } = world([orders, status]);
    unavailable.add(orders.id);
    const retried = record(event('e-30'));
    producer.failWith = new Error('broker unavailable');
    await expect(fanOut(retried)).rejects.toThrow('broker unavailable');
    producer.failWith = null;
    await fanOut(retried);
    // Held by both runs (the table keeps one row per endpoint and delivery id), under one id.
    expect(held.map((h) => h.deliveryId)).toEqual([
      deliveryIdFor(TENANT, 'e-30', orders.id),
      deliveryIdFor(TENANT, 'e-30', orders.id),
    ]);
    expect(held.map((h) => decodeTask(h.task).deliveryId)).toEqual(held.map((h) => h.deliveryId));
  });

  it('produces a task the database would not hold to the deliveries topic instead', async () => {
    const { producer, held, unavailable, fanOut, failHolds } = world([orders]);
    unavailable.add(orders.id);
    failHolds();
    await fanOut(record(event('e-7')));
    expect(held).toEqual([]);
    expect(producer.to(deliveries).map((t) => t.key)).toEqual([orders.id]);
  });

  it('rejects, so the runner hands the batch back, when Kafka does not acknowledge its tasks', async () => {
    const { producer, fanOut } = world([orders]);
    producer.failWith = new Error('broker unavailable');
    await expect(fanOut(record(event('e-8')))).rejects.toThrow('broker unavailable');
  });

  it('refreshes an endpoint named by a change marker before the events after it', async () => {
    const created = endpoint({ id: '0a000000-0000-4000-8000-000000000009' });
    const { producer, fanOut } = world([], [created]);
    const marker = endpointChangeMarker(TENANT, created.id);
    await fanOut(
      record(event('e-before')),
      record(marker.value as string, marker.headers as Record<string, string>),
      record(event('e-after')),
    );
    expect(producer.to(deliveries).map((t) => decodeTask(t.value as Buffer).eventId)).toEqual(['e-after']);
    expect(producer.to(dlq)).toEqual([]);
  });

  it('dead-letters a marker that names no endpoint', async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(record('{"endpointId":"nope"}', { 'hs-control': 'endpoint-changed' }));
    expect(producer.to(dlq)[0].headers).toMatchObject({ 'hs-reason': 'invalid_attribute' });
  });

  it('waits (rejects with a transient error) rather than calling a tenant unknown while PostgreSQL is down', async () => {
    const { producer, fanOut, db } = world([orders]);
    db.down = true;
    await expect(fanOut(record(event('e-9')))).rejects.toBeInstanceOf(TransientError);
    expect(producer.sent).toEqual([]);
  });
});
