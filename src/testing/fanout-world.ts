import { Registry } from 'prom-client';
import { notificationMarkFor } from '../config/config.module';
import { NotificationPublisher } from '../delivery/notifications/notification-publisher';
import { CatalogueSchemas } from '../domain/catalogue-schemas';
import type { PlatformEvent } from '../domain/cloud-event';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { RecordWithdrawn, type ConsumedRecord } from '../domain/records';
import { matchesEventType } from '../domain/subscription-matcher';
import { TransientError } from '../domain/transient';
import type { EventRecord } from '../event-log/events.repository';
import { FanoutService } from '../fanout/fanout.service';
import type { HoldRequest } from '../retry/held-deliveries';
import {
  endpoint,
  FakeClock,
  RecordingProducer,
  silentLogger,
  testConfig,
  testNotificationMark,
  testTaskSeal,
} from './fakes';

/** A FanoutService over an in-memory endpoint cache, gate and feed, for the fan-out's specs. */
export const config = testConfig({
  HOOKSTREAM_TOPIC_NAMESPACE: 'hs',
  HOOKSTREAM_INPUT_TOPICS: 'platform.events',
});
export const TENANT = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';
export const deliveries = config.kafka.deliveriesTopic;
export const dlq = config.kafka.dlqTopic;

export const orders = endpoint({ id: '0a000000-0000-4000-8000-000000000001', eventTypes: ['record.*'] });
export const status = endpoint({
  id: '0a000000-0000-4000-8000-000000000002',
  eventTypes: ['status.changed'],
});
export const strict = endpoint({ id: '0a000000-0000-4000-8000-000000000003', ordering: 'strict' });
export const ops = endpoint({ id: '0a000000-0000-4000-8000-000000000004', eventTypes: ['hookstream.*'] });
export const alsoOps = endpoint({ id: '0a000000-0000-4000-8000-000000000005', eventTypes: ['hookstream.*'] });
export const everything = endpoint({ id: '0a000000-0000-4000-8000-000000000006', eventTypes: ['*'] });

export function event(id: string, type = 'record.updated', tenantid = TENANT): string {
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
export function record(value: string | Buffer, headers: Record<string, string> = {}): ConsumedRecord {
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

/** The PostgreSQL calls of the fan-out a spec can make hang: their promises never settle. */
export type Hangs = Record<'refresh' | 'hold' | 'tenant', boolean>;

const never = new Promise<never>(() => undefined);

/**
 * The fan-out with `cached` in its endpoint cache and `database` behind it (what a refresh reads).
 * `db.down` makes the tenant lookup fail; `hangs` makes a call never answer; `tenantLookup.waitFor`
 * holds the tenant lookup open until that promise settles; `tenantLookup.started` counts lookups begun.
 */
export function world(
  cached: EndpointSnapshot[],
  database: EndpointSnapshot[] = cached,
  fanoutConfig = config,
) {
  const endpoints = [...cached];
  const db = { down: false };
  const hangs: Hangs = { refresh: false, hold: false, tenant: false };
  const tenantLookup: { waitFor: Promise<void> | null; started: number } = { waitFor: null, started: 0 };
  const producer = new RecordingProducer();
  const held: HoldRequest[] = [];
  const feed: EventRecord[] = [];
  /** The endpoint ids of each call to `refreshEndpoints`. */
  const refreshes: string[][] = [];
  const unavailable = new Set<string>();
  /** What a slow endpoint's lane takes now; others take anything. */
  const roomOf = new Map<string, number>();
  let holdFails = false;
  const catalogue = new CatalogueSchemas();
  const registry = new Registry();
  const fanout = new FanoutService(
    fanoutConfig,
    {
      match: (tenantId, type) =>
        endpoints.filter((e) => e.tenantId === tenantId && e.enabled && matchesEventType(e.eventTypes, type)),
      isKnownTenant: async (tenantId) => {
        tenantLookup.started += 1;
        if (hangs.tenant) return never;
        if (tenantLookup.waitFor) await tenantLookup.waitFor;
        if (db.down) throw new TransientError('PostgreSQL unavailable');
        return tenantId === TENANT;
      },
      refreshEndpoints: async (ids) => {
        refreshes.push([...ids]);
        if (hangs.refresh) return never;
        for (const id of ids) {
          const at = endpoints.findIndex((e) => e.id === id);
          if (at >= 0) endpoints.splice(at, 1);
          const found = database.find((e) => e.id === id);
          if (found) endpoints.push(found);
        }
      },
    },
    producer,
    {
      room: (id) => (unavailable.has(id) ? 0 : (roomOf.get(id) ?? Number.POSITIVE_INFINITY)),
      hold: async (request) => {
        if (hangs.hold) return never;
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
    registry,
  );
  const batchOf = (records: ConsumedRecord[]) => ({
    topic: records[0]?.topic ?? 'platform.events',
    partition: 0,
    records,
  });
  const fanOut = (...records: ConsumedRecord[]) => fanout.fanOut(batchOf(records));
  /** A batch from `fanOutOwned` is owned by its member while `ownership.owned` (README decision 99). */
  const ownership = { owned: true };
  const fanOutOwned = (...records: ConsumedRecord[]) =>
    fanout.fanOut({
      ...batchOf(records),
      assertOwned: () => {
        if (!ownership.owned) throw new RecordWithdrawn('a rebalance began before the batch was written');
      },
    });
  /** How many calls of that kind passed HOOKSTREAM_FANOUT_DB_TIMEOUT. */
  const timeouts = async (call: string) => {
    const metric = await registry.getSingleMetric('hookstream_fanout_database_timeouts_total')?.get();
    return metric?.values.find((value) => value.labels.call === call)?.value;
  };
  return {
    producer,
    held,
    feed,
    refreshes,
    unavailable,
    roomOf,
    fanOut,
    fanOutOwned,
    ownership,
    db,
    hangs,
    tenantLookup,
    catalogue,
    timeouts,
    failHolds: () => (holdFails = true),
  };
}

/** A notification about `ops`, as the structured CloudEvent Hookstream writes. */
export function notification(type: string, id = 'n-1', data: object = { endpoint: { id: ops.id } }) {
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

export function fromJson(json: ReturnType<typeof notification>): PlatformEvent {
  const { tenantid, specversion, ...rest } = json;
  return { ...rest, specversion: specversion as '1.0', tenantId: tenantid };
}

/** The record NotificationPublisher writes for it (the mark in its header), as the fan-out reads it. */
export async function published(json: ReturnType<typeof notification>): Promise<ConsumedRecord> {
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

export type Settled<T> =
  { state: 'pending' } | { state: 'fulfilled'; value: T } | { state: 'rejected'; reason: unknown };

/** How `running` stands once `ms` more of jest's fake time (and the work it lets run) have passed. */
export async function settledAfter<T>(ms: number, running: Promise<T>): Promise<Settled<T>> {
  let settled: Settled<T> = { state: 'pending' };
  running.then(
    (value) => (settled = { state: 'fulfilled', value }),
    (reason: unknown) => (settled = { state: 'rejected', reason }),
  );
  await jest.advanceTimersByTimeAsync(ms);
  return settled;
}
