import type { Kafka } from 'kafkajs';
import pino from 'pino';
import { CommittedReader } from './committed-reader';

/** A client whose admin answers fetchOffsets with `answer` (never, when it is null). */
function kafkaAnswering(
  answer: Array<{ partition: number; offset: string; metadata: string | null }> | null,
) {
  const fetches: string[] = [];
  const kafka = {
    admin: () => ({
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchOffsets: ({ topics }: { topics: string[] }) => {
        fetches.push(topics[0]);
        return answer === null
          ? new Promise(() => undefined)
          : Promise.resolve([{ topic: topics[0], partitions: answer }]);
      },
    }),
  } as unknown as Kafka;
  return { kafka, fetches };
}

describe('CommittedReader', () => {
  const logger = pino({ level: 'silent' });

  it('reads a topic once per generation and answers for each of its partitions', async () => {
    const { kafka, fetches } = kafkaAnswering([
      { partition: 0, offset: '10', metadata: 'hs1;2.1' },
      { partition: 1, offset: '-1', metadata: null },
    ]);
    const reader = new CommittedReader(kafka, 'group', logger);

    const first = await reader.finished(1, 'deliveries', 0);
    const second = await reader.finished(1, 'deliveries', 1);
    await reader.finished(2, 'deliveries', 0);

    expect(['9', '10', '11', '12', '13'].map((offset) => first.has(offset))).toEqual([
      true,
      false,
      false,
      true,
      false,
    ]);
    expect(second.has('0')).toBe(false);
    expect(fetches).toEqual(['deliveries', 'deliveries']);
  });

  it('knows nothing finished when the broker does not answer in time', async () => {
    const { kafka } = kafkaAnswering(null);
    const reader = new CommittedReader(kafka, 'group', logger, 20);

    const finished = await reader.finished(1, 'deliveries', 0);

    expect(finished.has('0')).toBe(false);
  });
});
