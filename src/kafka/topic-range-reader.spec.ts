import type { EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { isTransientError, TransientError } from '../domain/transient';
import { silentLogger, testConfig } from '../testing/fakes';
import type { KafkaAdmin } from './kafka-admin';
import { TopicRangeReader, type PartitionRange } from './topic-range-reader';

type EachBatch = (payload: EachBatchPayload) => Promise<void>;

/**
 * A consumer that hands `batches` (messages of platform.events/0) to the scan once it has sought,
 * as kafkajs does after `run`; none at all is a broker that delivers nothing (an outage).
 */
function consumerDelivering(batches: KafkaMessage[][]) {
  let eachBatch: EachBatch | undefined;
  return {
    events: { END_BATCH_PROCESS: 'consumer.end_batch_process' },
    on: () => undefined,
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (options: { eachBatch: EachBatch }) => void (eachBatch = options.eachBatch),
    pause: () => undefined,
    seek: () =>
      setImmediate(() => {
        void (async () => {
          for (const messages of batches) {
            await eachBatch?.({
              batch: {
                topic: 'platform.events',
                partition: 0,
                messages,
                lastOffset: () => messages[messages.length - 1].offset,
              },
              heartbeat: async () => undefined,
              isRunning: () => true,
              isStale: () => false,
            } as unknown as EachBatchPayload);
          }
        })();
      }),
    disconnect: async () => undefined,
  };
}

const message = (offset: number): KafkaMessage => ({
  offset: String(offset),
  timestamp: String(Date.UTC(2026, 11, 2, 12)),
  key: Buffer.from('k'),
  value: Buffer.from('{}'),
  headers: {},
  attributes: 0,
});

/** What the admin says of the input topic: missing, its high watermark, or that it cannot be reached. */
function adminSaying(topic: { missing?: boolean; highWatermark?: string; unreachable?: boolean }) {
  return {
    deleteGroup: async () => undefined,
    missingTopics: async (topics: string[]) => {
      if (topic.unreachable) throw new Error('Kafka unreachable at 127.0.0.1:9092 (KAFKA_BROKERS)');
      return topic.missing ? topics : [];
    },
    endOffsets: async () => [{ partition: 0, offset: topic.highWatermark ?? '10' }],
  } as unknown as KafkaAdmin;
}

function readerOf(consumer: ReturnType<typeof consumerDelivering>, admin: KafkaAdmin): TopicRangeReader {
  const kafka = { consumer: () => consumer } as unknown as Kafka;
  return new TopicRangeReader(kafka, admin, testConfig(), silentLogger);
}

const range: PartitionRange = { topic: 'platform.events', partition: 0, from: 0n, end: 10n };
const everything = { sinceMs: 0, untilMs: null };

describe('TopicRangeReader.scan', () => {
  it('does not count the time inside the visitor as idle: a chunk slower than idleMs completes', async () => {
    const reader = readerOf(consumerDelivering([[0, 1].map(message)]), adminSaying({}));
    const visited: string[] = [];
    const result = await reader.scan(
      [{ ...range, end: 2n }],
      everything,
      { chunkRecords: 1, idleMs: 200 },
      async (records) => {
        // A send retried through a broker outage, then saving the progress.
        await new Promise((resolve) => setTimeout(resolve, 600));
        visited.push(...records.map((record) => record.offset));
        return 'continue';
      },
    );
    expect(result).toEqual({ scanned: 2, complete: true });
    expect(visited).toEqual(['0', '1']);
  });

  it('gives up with a transient error when nothing arrives from a range still there (the broker is away)', async () => {
    const reader = readerOf(consumerDelivering([]), adminSaying({ highWatermark: '10' }));
    const failure = await reader
      .scan([range], everything, { chunkRecords: 100, idleMs: 300 }, async () => 'continue')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TransientError);
    expect((failure as Error).message).toBe(
      'no records arrived for 300 ms from platform.events/0@0<10; the records are still there, so the broker is away or slow',
    );
  });

  it('gives up with a transient error when the admin cannot reach the broker either', async () => {
    const reader = readerOf(consumerDelivering([]), adminSaying({ unreachable: true }));
    const failure = await reader
      .scan([range], everything, { chunkRecords: 100, idleMs: 300 }, async () => 'continue')
      .catch((error: unknown) => error);
    expect(isTransientError(failure)).toBe(true);
  });

  it.each([
    [{ missing: true }, 'topic platform.events no longer exists'],
    [{ highWatermark: '4' }, 'platform.events/0 now ends at offset 4, before 10 (the topic was recreated)'],
  ])('fails for good when the range can no longer be read to its end (%j)', async (topic, why) => {
    const reader = readerOf(consumerDelivering([]), adminSaying(topic));
    const failure = await reader
      .scan([range], everything, { chunkRecords: 100, idleMs: 300 }, async () => 'continue')
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(isTransientError(failure)).toBe(false);
    expect((failure as Error).message).toBe(
      `no records arrived for 300 ms from platform.events/0@0<10: ${why}`,
    );
  });
});
