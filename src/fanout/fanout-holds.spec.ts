import { decodeTask, deliveryIdFor } from '../domain/delivery-task';
import {
  config,
  deliveries,
  event,
  orders,
  record,
  settledAfter,
  status,
  strict,
  TENANT,
  world,
} from '../testing/fanout-world';

describe('FanoutService: holds for unavailable endpoints, and room on slow ones', () => {
  afterEach(() => jest.useRealTimers());

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

  it('sends a task whose hold PostgreSQL does not answer in time to the deliveries topic', async () => {
    jest.useFakeTimers();
    const { producer, held, unavailable, hangs, fanOut, timeouts } = world([orders]);
    unavailable.add(orders.id);
    hangs.hold = true;
    const run = fanOut(record(event('e-hung')));
    expect(await settledAfter(config.fanoutDatabaseTimeoutMs - 1, run)).toEqual({ state: 'pending' });
    expect(await settledAfter(1, run)).toEqual({ state: 'fulfilled', value: undefined });
    expect(held).toEqual([]);
    expect(producer.to(deliveries).map((t) => [t.key, decodeTask(t.value as Buffer).eventId])).toEqual([
      [orders.id, 'e-hung'],
    ]);
    expect(await timeouts('hold')).toBe(1);
  });
});
