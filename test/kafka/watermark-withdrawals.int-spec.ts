import pino from 'pino';
import { WatermarkConsumer, type ConsumedRecord } from '../../src/kafka/watermark-consumer';
import { brokerPerTest } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * `withdrawals` on the real broker: the delivery engine reads its lanes for withdrawn records only
 * when this count moves (README decision 85), so every record whose `stillOwned` turns false must
 * come with a change of it, and a steady member must leave it alone.
 */
describe('WatermarkConsumer withdrawals', () => {
  const logger = pino({ level: 'silent' });
  // Let go of the held records first, so that the members stop at once after each test.
  let release: () => void = () => undefined;
  afterEach(() => release());
  const broker = brokerPerTest('withdrawals', { work: 2 });

  /** A member whose handler keeps every record in hand until the test lets go. */
  async function member(held: ConsumedRecord[], done: Promise<void>): Promise<WatermarkConsumer> {
    const consumer = new WatermarkConsumer(
      broker.kafka,
      {
        name: 'withdrawals-test',
        groupId: `${broker.namespace}.group`,
        topics: [broker.topic('work')],
        partitionWindow: 100,
        handle: async (record) => {
          held.push(record);
          await done;
        },
      },
      logger,
    );
    await consumer.start();
    return broker.track(consumer);
  }

  it('moves when a rebalance takes a partition away and when the member stops, and not otherwise', async () => {
    const done = new Promise<void>((resolve) => (release = resolve));
    const held: ConsumedRecord[] = [];
    const first = await member(held, done);
    await broker.producer.send({
      topic: broker.topic('work'),
      messages: [
        { key: 'a', value: 'x', partition: 0 },
        { key: 'b', value: 'x', partition: 1 },
      ],
    });
    await waitFor(() => held.length === 2, { timeoutMs: 30_000, what: 'both records in hand' });
    const steady = first.withdrawals;
    expect(held.every((record) => record.stillOwned?.() === true)).toBe(true);

    // A second member joins: the first keeps one partition and loses the other.
    const others: ConsumedRecord[] = [];
    await member(others, done);
    await waitFor(() => held.some((record) => record.stillOwned?.() === false), {
      timeoutMs: 60_000,
      what: 'a record of the first member withdrawn by the rebalance',
    });
    expect(first.withdrawals).not.toBe(steady);
    const afterRebalance = first.withdrawals;
    expect(held.filter((record) => record.stillOwned?.() === true)).toHaveLength(1);

    // Beginning to stop withdraws the rest at once, and says so.
    const stopping = first.stop(1_000);
    broker.untrack(first);
    expect(held.every((record) => record.stillOwned?.() === false)).toBe(true);
    expect(first.withdrawals).not.toBe(afterRebalance);
    release();
    await stopping;
  });
});
