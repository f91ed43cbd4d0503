/**
 * kafkajs 2.2.4's grouping of a send's records by partition, as `patches/kafkajs+2.2.4.patch` leaves
 * it (README decision 78): it copied the partition's array for every record, so a request of n
 * records allocated O(n^2); it now appends. What it returns must not change: the records of each
 * partition, in the order sent. (The cost is measured by the bench, not here.)
 */
import type { Message, PartitionerArgs } from 'kafkajs';
import { rememberingPartitioner } from './partitioning';

// Internal to kafkajs and untyped, like the request queue kafkajs-request-queue.spec.ts reads.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const groupMessagesPerPartition = require('kafkajs/src/producer/groupMessagesPerPartition') as (args: {
  topic: string;
  partitionMetadata: PartitionerArgs['partitionMetadata'];
  messages: Message[];
  partitioner: (args: PartitionerArgs) => number;
}) => Record<string, Message[]>;

const partitionMetadata = Array.from({ length: 12 }, (_, partitionId) => ({
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
  partitionErrorCode: 0,
}));

describe("kafkajs' grouping of records by partition", () => {
  it('keeps every record, each in its partition, in the order sent', () => {
    const partitioner = rememberingPartitioner();
    const messages: Message[] = Array.from({ length: 5_000 }, (_, i) => ({
      key: `endpoint-${i % 37}`,
      value: String(i),
    }));
    const grouped = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner });

    const expected = new Map<number, string[]>();
    for (const message of messages) {
      const partition = partitioner({ topic: 't', partitionMetadata, message });
      expected.set(partition, [...(expected.get(partition) ?? []), message.value as string]);
    }
    expect(
      Object.keys(grouped)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([...expected.keys()].sort((a, b) => a - b));
    for (const [partition, values] of expected) {
      expect(grouped[partition]?.map((m) => m.value)).toEqual(values);
    }
  });

  it('puts every record of one key in one partition', () => {
    const messages: Message[] = Array.from({ length: 1_000 }, (_, i) => ({
      key: 'one-endpoint',
      value: String(i),
    }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata,
      messages,
      partitioner: rememberingPartitioner(),
    });
    const groups = Object.values(grouped);
    expect(groups).toHaveLength(1);
    expect(groups[0]?.map((m) => m.value)).toEqual(messages.map((m) => m.value));
  });

  it('groups nothing when the topic has no partitions known', () => {
    expect(
      groupMessagesPerPartition({
        topic: 't',
        partitionMetadata: [],
        messages: [{ key: 'k', value: 'v' }],
        partitioner: rememberingPartitioner(),
      }),
    ).toEqual({});
  });
});
