import { partitionKey, splitPartitionKey } from './partition-key';

describe('partitionKey', () => {
  it('splits back into the topic and partition it was made of', () => {
    for (const [topic, partition] of [
      ['hookstream.deliveries', 0],
      ['hookstream.retry.5m', 11],
      ['a-b_c.d', 1023],
    ] as const) {
      expect(splitPartitionKey(partitionKey(topic, partition))).toEqual({ topic, partition });
    }
  });

  it('keys one partition of one topic apart from every other', () => {
    const keys = new Set([
      partitionKey('t', 1),
      partitionKey('t', 11),
      partitionKey('t1', 1),
      partitionKey('t', 0),
    ]);
    expect(keys.size).toBe(4);
  });
});
