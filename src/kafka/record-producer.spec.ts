import { recordsBytes, takeBatch } from './record-producer';

describe('takeBatch', () => {
  const sends = (...sizes: number[]) => sizes.map((bytes, index) => ({ index, bytes }));

  it('takes the oldest sends that fit together and leaves the rest queued in order', () => {
    const queue = sends(100, 200, 300, 50);
    expect(takeBatch(queue, 600).map((s) => s.index)).toEqual([0, 1, 2]);
    expect(queue.map((s) => s.index)).toEqual([3]);
  });

  it('always takes at least one send, even one over the limit', () => {
    const queue = sends(5_000, 10);
    expect(takeBatch(queue, 1_000).map((s) => s.index)).toEqual([0]);
    expect(takeBatch(queue, 1_000).map((s) => s.index)).toEqual([1]);
    expect(queue).toEqual([]);
  });

  it('stops at the first send that does not fit rather than skipping ahead (order is kept)', () => {
    const queue = sends(400, 700, 10);
    expect(takeBatch(queue, 1_000).map((s) => s.index)).toEqual([0]);
  });
});

describe('recordsBytes', () => {
  it('counts keys, values and headers', () => {
    const bare = recordsBytes([{ key: null, value: null }]);
    expect(recordsBytes([{ key: 'abc', value: Buffer.alloc(1000), headers: { h: 'xyz' } }])).toBe(
      bare + 3 + 1000 + 1 + 3,
    );
  });
});
