import pino from 'pino';
import type { ConsumedRecord } from '../../src/domain/records';
import { decodeFinished } from '../../src/kafka/finished-offsets';
import { WatermarkConsumer } from '../../src/kafka/watermark-consumer';
import { brokerPerTest, committedOffsetsOf } from '../support/kafka';
import { waitFor } from '../support/wait';

/**
 * One slow record holds a partition's committed offset back; what finished after it is named in the
 * commit's metadata, and the partition's next reader skips it (README decision 92). Without that, a
 * stop, a crash or a rebalance hands every record finished behind the slow one to the next reader
 * again: the chaos run's duplicates came from there.
 */
describe('WatermarkConsumer: records finished past the committed offset', () => {
  const logger = pino({ level: 'silent' });
  const broker = brokerPerTest('finished-elsewhere', { work: 1 });
  const groupId = (): string => `${broker.namespace}.group`;
  let releaseSlow: () => void = () => undefined;

  afterEach(() => releaseSlow());

  /** A member that notes the key of every record it handles; the record keyed `slow` never finishes. */
  async function member(handled: string[], skipped: number[]): Promise<WatermarkConsumer> {
    const slow = new Promise<void>((resolve) => (releaseSlow = resolve));
    const consumer = new WatermarkConsumer(
      broker.kafka,
      {
        name: 'finished-elsewhere-test',
        groupId: groupId(),
        topics: [broker.topic('work')],
        partitionWindow: 1_000,
        commitIntervalMs: 50,
        handle: async (record: ConsumedRecord) => {
          handled.push(record.key ?? '');
          if (record.key === 'slow') await slow;
        },
        committedOffsets: committedOffsetsOf(() => broker.admin, groupId),
        onFinishedElsewhere: () => skipped.push(1),
      },
      logger,
    );
    await consumer.start();
    return consumer;
  }

  async function committed(): Promise<{ offset: string; metadata: string | null }> {
    const [topic] = await broker.admin.fetchOffsets({ groupId: groupId(), topics: [broker.topic('work')] });
    const { offset, metadata } = topic.partitions[0];
    return { offset, metadata };
  }

  const send = (keys: string[]) =>
    broker.producer.send({
      topic: broker.topic('work'),
      messages: keys.map((key) => ({ key, value: key, partition: 0 })),
    });

  it('names what finished behind a slow record, and the next reader handles only the slow one', async () => {
    const first: string[] = [];
    const a = await member(first, []);
    await send(['warm']);
    await waitFor(async () => (await committed()).offset === '1', {
      timeoutMs: 30_000,
      what: 'warm-up commit',
    });

    const fast = Array.from({ length: 20 }, (_, i) => `fast-${i}`);
    await send(['slow', ...fast]);
    await waitFor(async () => (await committed()).metadata !== null, {
      timeoutMs: 30_000,
      what: 'a commit naming the records finished behind the slow one',
    });
    expect(first).toEqual(['warm', 'slow', ...fast]);
    const commit = await committed();
    // The slow record (offset 1) holds the offset; offsets 2-21 are named.
    expect(commit.offset).toBe('1');
    expect(decodeFinished(1n, commit.metadata)).toEqual([[2n, 21n]]);

    // Stopped with the slow record still running (a crash would leave the same commit).
    await a.stop(100);

    const second: string[] = [];
    const skipped: number[] = [];
    broker.track(await member(second, skipped));
    await send(['after']);
    await waitFor(() => second.includes('after'), { timeoutMs: 30_000, what: 'the record sent after' });
    expect(second).toEqual(['slow', 'after']);
    expect(skipped.reduce((sum, count) => sum + count, 0)).toBe(20);
  });
});
