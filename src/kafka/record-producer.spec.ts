import type { Kafka } from 'kafkajs';
import { chunksBySize, isProducerStateError, RecordProducer, recordsBytes } from './record-producer';

describe('recordsBytes', () => {
  it('counts keys, values and headers', () => {
    const bare = recordsBytes([{ key: null, value: null }]);
    expect(recordsBytes([{ key: 'abc', value: Buffer.alloc(1000), headers: { h: 'xyz' } }])).toBe(
      bare + 3 + 1000 + 1 + 3,
    );
  });
});

describe('RecordProducer after the broker loses its idempotence state', () => {
  /** A stand-in for the kafkajs client: producers whose sends fail with the given errors in turn. */
  function clientFailingWith(...errors: Error[]) {
    const producers: Array<{ sent: number; disconnected: boolean }> = [];
    const kafka = {
      producer: () => {
        const made = { sent: 0, disconnected: false };
        producers.push(made);
        return {
          connect: async () => undefined,
          disconnect: async () => void (made.disconnected = true),
          sendBatch: async () => {
            const error = errors.shift();
            if (error) throw error;
            made.sent += 1;
          },
        };
      },
    };
    return { kafka: kafka as unknown as Kafka, producers };
  }
  const protocolError = (type: string) =>
    Object.assign(new Error('The broker received an out of order sequence number'), {
      name: 'KafkaJSNonRetriableError',
      cause: Object.assign(new Error(type), { name: 'KafkaJSProtocolError', type }),
    });

  it('sends the batch again with a fresh producer and drops the broken one', async () => {
    const { kafka, producers } = clientFailingWith(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER'));
    const producer = new RecordProducer(kafka);
    await producer.send('t', [{ key: 'k', value: 'v' }]);
    expect(producers.map((p) => [p.sent, p.disconnected])).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(producer.replaced).toBe(1);
    await producer.send('t', [{ key: 'k', value: 'v' }]);
    expect(producers).toHaveLength(2);
  });

  it('passes any other error to the caller and keeps the producer', async () => {
    const { kafka, producers } = clientFailingWith(protocolError('NOT_LEADER_FOR_PARTITION'));
    const producer = new RecordProducer(kafka);
    await expect(producer.send('t', [{ key: 'k', value: 'v' }])).rejects.toThrow(/out of order/);
    await producer.send('t', [{ key: 'k', value: 'v' }]);
    expect(producers).toHaveLength(1);
    expect(producer.replaced).toBe(0);
  });

  it('recognises the producer-state errors through the cause chain only', () => {
    expect(isProducerStateError(protocolError('UNKNOWN_PRODUCER_ID'))).toBe(true);
    expect(isProducerStateError(protocolError('REQUEST_TIMED_OUT'))).toBe(false);
    expect(isProducerStateError(new Error('OUT_OF_ORDER_SEQUENCE_NUMBER'))).toBe(false);
  });
});

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
