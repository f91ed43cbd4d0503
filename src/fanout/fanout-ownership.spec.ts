import { RecordWithdrawn } from '../domain/records';
import { TransientError } from '../domain/transient';
import { flush, gate } from '../testing/fakes';
import { deliveries, dlq, event, orders, record, strict, world } from '../testing/fanout-world';

/**
 * The fan-out writes a batch only while its member owns the batch's partition (README decision 99):
 * once a rebalance may have handed it to another member, which fans out this batch and newer ones,
 * a late copy of this one would reach the deliveries topic after them.
 */
describe('FanoutService: a batch whose partition may have moved', () => {
  it('does not produce a batch whose ownership was lost while its send kept failing', async () => {
    const { producer, ownership, fanOutOwned } = world([strict]);
    const events = [record(event('e-1')), record(event('e-2'))];
    producer.failWith = new TransientError('produce timed out');
    await expect(fanOutOwned(...events)).rejects.toThrow('produce timed out');

    // A heartbeat says the rebalance has begun; the broker takes writes again.
    ownership.owned = false;
    producer.failWith = null;
    await expect(fanOutOwned(...events)).rejects.toBeInstanceOf(RecordWithdrawn);
    expect(producer.sent).toEqual([]);
  });

  it('neither holds nor sends when ownership is lost while the tenant lookup waits', async () => {
    const { producer, held, unavailable, tenantLookup, ownership, fanOutOwned } = world([strict, orders]);
    unavailable.add(orders.id);
    const lookup = gate();
    tenantLookup.waitFor = lookup.opened;
    const fannedOut = fanOutOwned(record(event('e-1')));
    await flush();
    expect(tenantLookup.started).toBe(1); // Lost while the lookup waits, not before it began.
    ownership.owned = false;
    lookup.open();
    await expect(fannedOut).rejects.toBeInstanceOf(RecordWithdrawn);
    expect(producer.sent).toEqual([]);
    expect(held).toEqual([]);
  });

  it('sends no dead letter once ownership is lost during the deliveries send', async () => {
    const { producer, ownership, fanOutOwned } = world([strict]);
    const send = producer.send.bind(producer);
    producer.send = async (topic, records) => {
      await send(topic, records);
      if (topic === deliveries) ownership.owned = false;
    };
    await expect(fanOutOwned(record(event('e-1')), record('not json'))).rejects.toBeInstanceOf(
      RecordWithdrawn,
    );
    expect(producer.to(deliveries)).toHaveLength(1);
    expect(producer.to(dlq)).toEqual([]);
  });

  it('writes a batch it owns, and one from a runner without the check', async () => {
    const { producer, held, unavailable, fanOut, fanOutOwned } = world([strict, orders]);
    unavailable.add(orders.id);
    await fanOutOwned(record(event('e-1')));
    await fanOut(record(event('e-2')));
    expect(producer.to(deliveries)).toHaveLength(2);
    expect(held).toHaveLength(2);
  });
});
