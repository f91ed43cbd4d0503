import { randomUUID } from 'node:crypto';
import { Partitioners } from 'kafkajs';
import { partitionOf, rememberingPartitioner } from './partitioning';

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

describe('rememberingPartitioner', () => {
  const metadata = (partitions: number) =>
    Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      replicas: [1],
      isr: [1],
      partitionErrorCode: 0,
    }));

  it("puts a string key where kafkajs' default partitioner does, asked once or again", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const remembering = rememberingPartitioner();
    for (const partitions of [1, 6, 12, 48]) {
      const partitionMetadata = metadata(partitions);
      const keys = Array.from({ length: 200 }, () => randomUUID());
      for (const key of [...keys, ...keys]) {
        const message = { key, value: null };
        expect(remembering({ topic: 't', partitionMetadata, message })).toBe(
          kafkajs({ topic: 't', partitionMetadata, message }),
        );
      }
    }
  });

  it('keeps a partition the record sets, and hashes a Buffer key as kafkajs does', () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const remembering = rememberingPartitioner();
    const partitionMetadata = metadata(12);
    expect(
      remembering({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 7 } }),
    ).toBe(7);
    const message = { key: Buffer.from('an endpoint id'), value: null };
    expect(remembering({ topic: 't', partitionMetadata, message })).toBe(
      kafkajs({ topic: 't', partitionMetadata, message }),
    );
  });

  it('spreads records without a key over the partitions', () => {
    const remembering = rememberingPartitioner();
    const partitionMetadata = metadata(6);
    const seen = new Set<number>();
    for (let i = 0; i < 60; i++)
      seen.add(remembering({ topic: 't', partitionMetadata, message: { value: null } }));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
