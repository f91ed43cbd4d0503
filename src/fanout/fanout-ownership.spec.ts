import { Registry } from 'prom-client';
import { notificationMarkFor } from '../config/config.module';
import { CatalogueSchemas } from '../domain/catalogue-schemas';
import type { EndpointSnapshot } from '../domain/endpoint-snapshot';
import { RecordWithdrawn, type ConsumedBatch, type ConsumedRecord } from '../domain/records';
import { TransientError } from '../domain/transient';
import type { HoldRequest } from '../retry/held-deliveries';
import {
  endpoint,
  FakeClock,
  gate,
  RecordingProducer,
  silentLogger,
  testConfig,
  testTaskSeal,
} from '../testing/fakes';
import { FanoutService } from './fanout.service';

/**
 * The fan-out writes a batch only while its member owns the batch's partition (README decision 99):
 * once a rebalance may have handed it to another member, which fans out this batch and newer ones,
 * a late copy of this one would reach the deliveries topic after them.
 */
const config = testConfig({ HOOKSTREAM_TOPIC_NAMESPACE: 'hs', HOOKSTREAM_INPUT_TOPICS: 'platform.events' });
const TENANT = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';
const deliveries = config.kafka.deliveriesTopic;
const dlq = config.kafka.dlqTopic;
const orders = endpoint({ id: '0a000000-0000-4000-8000-000000000001', tenantId: TENANT, ordering: 'strict' });
const slow = endpoint({ id: '0a000000-0000-4000-8000-000000000002', tenantId: TENANT });

let offset = 0;
function record(id: string, value?: string): ConsumedRecord {
  const event = {
    specversion: '1.0',
    id,
    source: '/crm',
    type: 'record.updated',
    time: '2026-12-02T12:00:00Z',
    tenantid: TENANT,
    data: { id },
  };
  return {
    topic: 'platform.events',
    partition: 0,
    offset: String(offset++),
    key: TENANT,
    value: Buffer.from(value ?? JSON.stringify(event)),
    headers: {},
    timestampMs: Date.UTC(2026, 11, 2, 12, 0, 1),
  };
}

/** The fan-out over `endpoints`; `lookup` holds the tenant lookup open while set; `slow` is held. */
function world(endpoints: EndpointSnapshot[]) {
  const producer = new RecordingProducer();
  const held: HoldRequest[] = [];
  const tenantLookup: { waitFor: Promise<void> | null } = { waitFor: null };
  const fanout = new FanoutService(
    config,
    {
      match: (tenantId) => endpoints.filter((e) => e.tenantId === tenantId),
      isKnownTenant: async (tenantId) => {
        if (tenantLookup.waitFor) await tenantLookup.waitFor;
        return tenantId === TENANT;
      },
      refreshEndpoints: async () => undefined,
    },
    producer,
    {
      room: (id) => (id === slow.id ? 0 : Number.POSITIVE_INFINITY),
      hold: async (request) => void held.push(request),
    },
    { append: () => undefined },
    new CatalogueSchemas(),
    new FakeClock(),
    silentLogger,
    testTaskSeal,
    notificationMarkFor(config),
    new Registry(),
  );
  /** A batch of `records` whose member owns its partition while `ownership.owned`. */
  const ownership = { owned: true };
  const batch = (...records: ConsumedRecord[]): ConsumedBatch => ({
    topic: 'platform.events',
    partition: 0,
    records,
    assertOwned: () => {
      if (!ownership.owned) throw new RecordWithdrawn('a rebalance began before the batch was written');
    },
  });
  return { fanout, producer, held, tenantLookup, ownership, batch };
}

describe('FanoutService: a batch whose partition may have moved', () => {
  it('does not produce a batch whose ownership was lost while its send kept failing', async () => {
    const { fanout, producer, ownership, batch } = world([orders]);
    const events = batch(record('e-1'), record('e-2'));
    producer.failWith = new TransientError('produce timed out');
    await expect(fanout.fanOut(events)).rejects.toThrow('produce timed out');

    // A heartbeat says the rebalance has begun; the broker takes writes again.
    ownership.owned = false;
    producer.failWith = null;
    await expect(fanout.fanOut(events)).rejects.toBeInstanceOf(RecordWithdrawn);
    expect(producer.sent).toEqual([]);
  });

  it('neither holds nor sends when ownership is lost while the tenant lookup waits', async () => {
    const { fanout, producer, held, tenantLookup, ownership, batch } = world([orders, slow]);
    const lookup = gate();
    tenantLookup.waitFor = lookup.opened;
    const fannedOut = fanout.fanOut(batch(record('e-1')));
    ownership.owned = false;
    lookup.open();
    await expect(fannedOut).rejects.toBeInstanceOf(RecordWithdrawn);
    expect(producer.sent).toEqual([]);
    expect(held).toEqual([]);
  });

  it('sends no dead letter once ownership is lost during the deliveries send', async () => {
    const { fanout, producer, ownership, batch } = world([orders]);
    const send = producer.send.bind(producer);
    producer.send = async (topic, records) => {
      await send(topic, records);
      if (topic === deliveries) ownership.owned = false;
    };
    await expect(fanout.fanOut(batch(record('e-1'), record('bad', 'not json')))).rejects.toBeInstanceOf(
      RecordWithdrawn,
    );
    expect(producer.to(deliveries)).toHaveLength(1);
    expect(producer.to(dlq)).toEqual([]);
  });

  it('writes a batch it owns, and one from a runner without the check', async () => {
    const { fanout, producer, held, batch } = world([orders, slow]);
    await fanout.fanOut(batch(record('e-1')));
    await fanout.fanOut({ topic: 'platform.events', partition: 0, records: [record('e-2')] });
    expect(producer.to(deliveries)).toHaveLength(2);
    expect(held).toHaveLength(2);
  });
});
