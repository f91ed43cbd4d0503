import { decodeTask, deliveryIdFor } from '../domain/delivery-task';
import { deriveNotificationKeys, NotificationMark } from '../domain/notification-mark';
import { testConfig, testTaskSeal } from '../testing/fakes';
import {
  alsoOps,
  config,
  deliveries,
  dlq,
  event,
  everything,
  fromJson,
  notification,
  ops,
  orders,
  published,
  record,
  status,
  TENANT,
  world,
} from '../testing/fanout-world';

describe('FanoutService: routing events to endpoints', () => {
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
});
