import { randomUUID } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { partitionOf } from './partitioning';

describe('partitionOf', () => {
  it('agrees with the partitioner the producer uses, for endpoint ids', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 6, 12, 48]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        replicas: [1],
        isr: [1],
        partitionErrorCode: 0,
      }));
      for (let i = 0; i < 200; i++) {
        const key = randomUUID();
        const expected = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
        expect(partitionOf(key, partitions)).toBe(expected);
      }
    }
  });
});
