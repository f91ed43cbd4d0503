import pino from 'pino';
import type { ConsumedBatch } from '../../src/domain/records';
import { TransientError } from '../../src/domain/transient';
import { WatermarkConsumer } from '../../src/kafka/watermark-consumer';
import { brokerPerTest, collectTopic, type ReceivedMessage } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * Batch mode (the fan-out's) when one member's batch keeps failing through a rebalance (README
 * decision 99). Member A's writes are blocked; B joins. Had A kept retrying past the rebalance
 * timeout, the coordinator would drop it and B would write that batch and a newer record, and A's
 * copy would land after them once its writes got through. A gives the batch up instead, at the first
 * heartbeat that says the rebalance has begun, and writes nothing of it.
 */
describe('WatermarkConsumer batch mode: a batch held past a rebalance', () => {
  const logger = pino({ level: 'silent' });
  const broker = brokerPerTest('batch-ownership', { work: 2, out: 1 });
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  /** A member writing `partition/offset` of each record to the out topic, as the fan-out does. */
  async function member(name: string, blocked: { writes: boolean }): Promise<WatermarkConsumer> {
    const consumer = new WatermarkConsumer(
      broker.kafka,
      {
        name: `batch-ownership-${name}`,
        groupId: `${broker.namespace}.group`,
        topics: [broker.topic('work')],
        partitionWindow: 1_000,
        // Short, so that a member held out of the rebalance is dropped within the test.
        rebalanceTimeoutMs: 10_000,
        handleBatch: async (batch: ConsumedBatch) => {
          batch.assertOwned?.();
          if (blocked.writes) throw new TransientError('produce timed out');
          await broker.producer.send({
            topic: broker.topic('out'),
            messages: batch.records.map((record) => ({
              value: `${record.partition}/${record.offset}`,
              headers: { member: name },
            })),
          });
        },
      },
      logger,
    );
    await consumer.start();
    return broker.track(consumer);
  }

  /** The input offsets written for `partition`, in the order they reached the out topic, with their writer. */
  const writesOf = (out: ReceivedMessage[], partition: number) =>
    out
      .filter((message) => message.value!.startsWith(`${partition}/`))
      .map((message) => ({ offset: Number(message.value!.split('/')[1]), member: message.headers.member }));

  it("writes no copy of the held batch after the new owner's newer records", async () => {
    const out = await collectTopic(broker.kafka, broker.topic('out'));
    stops.push(out.stop);
    const send = (partition: number, value: string) =>
      broker.producer.send({ topic: broker.topic('work'), messages: [{ value, partition }] });

    // A takes both partitions and cannot write: its batch of each keeps failing.
    const blockedA = { writes: true };
    await send(0, 'first');
    await send(1, 'first');
    const a = await member('a', blockedA);
    await waitFor(() => a.inFlight() === 2, { timeoutMs: 30_000, what: 'both batches held by A' });

    // B joins: the rebalance completes once A joins again, or drops A after 10 s.
    const b = await member('b', { writes: false });
    await waitFor(() => b.ownedIndexes().length > 0, { timeoutMs: 60_000, what: 'B assigned a partition' });
    const gained = b.ownedIndexes()[0];
    await waitFor(() => writesOf(out.messages, gained).some((write) => write.offset === 0), {
      timeoutMs: 30_000,
      what: `B's write of the held record of partition ${gained}`,
    });
    await send(gained, 'newer');
    await waitFor(() => writesOf(out.messages, gained).some((write) => write.offset === 1), {
      timeoutMs: 30_000,
      what: `B's write of the newer record of partition ${gained}`,
    });

    // A's writes get through again: whatever A still holds is written now, or was given up.
    blockedA.writes = false;
    await waitFor(() => a.inFlight() === 0, { timeoutMs: 30_000, what: 'A done with what it holds' });
    const [{ high }] = await broker.admin.fetchTopicOffsets(broker.topic('out'));
    await waitFor(() => out.messages.length === Number(high), {
      timeoutMs: 30_000,
      what: `all ${high} records of the out topic collected`,
    });

    for (const partition of [0, 1]) {
      const offsets = writesOf(out.messages, partition).map((write) => write.offset);
      // Each record at least once, and never an older one after a newer one.
      expect(offsets.length).toBeGreaterThan(0);
      expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    }
    expect(writesOf(out.messages, gained)).toEqual([
      { offset: 0, member: 'b' },
      { offset: 1, member: 'b' },
    ]);
  });
});
