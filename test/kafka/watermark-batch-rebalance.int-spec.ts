import pino from 'pino';
import type { ConsumedBatch } from '../../src/domain/records';
import { WatermarkConsumer } from '../../src/kafka/watermark-consumer';
import { brokerPerTest } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * Batch mode (the fan-out's) across a rebalance. A member commits what it finished as the rebalance
 * begins, so the member that gains a partition does not handle it again (README decision 90). If
 * that commit is lost, the member that keeps a partition fetches again from the committed offset
 * records it handled already, and must move on past them, not fetch them again forever (decision
 * 89: a full chaos run stalled the fan-out so).
 */
describe('WatermarkConsumer batch mode across a rebalance', () => {
  const logger = pino({ level: 'silent' });
  const broker = brokerPerTest('batch-rebalance', { work: 2 });
  const topic = (): string => broker.topic('work');

  /** A member that notes `partition/key` of every record it handles. */
  async function member(handled: Set<string>, commitOnRebalance = true): Promise<WatermarkConsumer> {
    const consumer = new WatermarkConsumer(
      broker.kafka,
      {
        name: 'batch-rebalance-test',
        groupId: `${broker.namespace}.group`,
        topics: [topic()],
        partitionWindow: 1_000,
        // Smaller than one producer batch of the test: a fetch returns that batch and no more.
        maxBytesPerPartition: 1_024,
        // Only the first completion commits: the rebalance finds the rest handled and uncommitted.
        commitIntervalMs: 600_000,
        commitOnRebalance,
        handleBatch: async (batch: ConsumedBatch) => {
          for (const record of batch.records) handled.add(`${record.partition}/${record.key}`);
        },
      },
      logger,
    );
    await consumer.start();
    return broker.track(consumer);
  }

  const send = (key: string, partition: number, count = 1) =>
    broker.producer.send({
      topic: topic(),
      messages: Array.from({ length: count }, (_, i) => ({
        key: count === 1 ? key : `${key}-${i}`,
        value: 'x'.repeat(600),
        partition,
      })),
    });

  /** The first member, with 42 records handled over both partitions and only its first commit made. */
  async function firstMemberWithUncommittedWork(commitOnRebalance: boolean) {
    const first = new Set<string>();
    const a = await member(first, commitOnRebalance);
    await send('warm', 0);
    await send('warm', 1);
    await waitFor(() => first.has('0/warm') && first.has('1/warm'), { timeoutMs: 30_000, what: 'warm-up' });
    // One producer batch of 20 per partition (12 KB, past maxBytesPerPartition).
    await Promise.all([send('before', 0, 20), send('before', 1, 20)]);
    await waitFor(() => first.size === 42, {
      timeoutMs: 30_000,
      what: 'every record handled by the first member',
    });
    return { a, first };
  }

  it('commits what it handled as the rebalance begins: the member gaining a partition handles none of it', async () => {
    const { a } = await firstMemberWithUncommittedWork(true);

    const second = new Set<string>();
    await member(second);
    await waitFor(() => a.ownedIndexes().length === 1, { timeoutMs: 60_000, what: 'the rebalance' });
    const gained = 1 - a.ownedIndexes()[0];

    // Fetched in offset order: had the second member started before the first one's work, it would
    // have handled that work before this record.
    await send('after', gained);
    await waitFor(() => second.has(`${gained}/after`), {
      timeoutMs: 30_000,
      what: `the record sent after the rebalance to the partition the second member gained (${gained})`,
    });
    expect([...second]).toEqual([`${gained}/after`]);
  });

  it('moves past the records it handled before the rebalance and had not committed', async () => {
    // The commit at the start of the rebalance left out, as when it is lost to the rebalance.
    const { a, first } = await firstMemberWithUncommittedWork(false);

    // A second member joins: the first keeps one partition and reads it again from its commit.
    const second = new Set<string>();
    await member(second, false);
    await waitFor(() => a.ownedIndexes().length === 1, { timeoutMs: 60_000, what: 'the rebalance' });
    const kept = a.ownedIndexes()[0];

    await send('after', kept);
    await waitFor(() => first.has(`${kept}/after`), {
      timeoutMs: 30_000,
      what: `the record sent after the rebalance to the partition the first member kept (${kept})`,
    });
  });
});
