import { chunksBySize } from './record-producer';

describe('chunksBySize', () => {
  const message = (bytes: number) => ({ key: 'k', value: 'x'.repeat(bytes) });

  it('keeps every message, in order, in runs under the limit', () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: String(i), value: 'x'.repeat(100) }));
    const chunks = chunksBySize(messages, 1000);
    expect(chunks.flat()).toEqual(messages);
    for (const chunk of chunks) {
      const size = chunk.reduce((sum, m) => sum + m.value.length + m.key.length + 64, 0);
      expect(size).toBeLessThanOrEqual(1000);
    }
  });

  it('gives a message larger than the limit a run of its own', () => {
    const chunks = chunksBySize([message(10), message(5000), message(10)], 1000);
    expect(chunks.map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it('returns no runs for no messages', () => expect(chunksBySize([], 1000)).toEqual([]));
});
