import pino from 'pino';
import { CommittedReader } from './committed-reader';
import type { CommittedOffset } from './consumer-spec';

/** A read of committed offsets answering `answer` (never, when it is null), and the topics asked. */
function answering(answer: CommittedOffset[] | null) {
  const reads: string[] = [];
  const committedOffsets = (topic: string): Promise<CommittedOffset[]> => {
    reads.push(topic);
    return answer === null ? new Promise(() => undefined) : Promise.resolve(answer);
  };
  return { committedOffsets, reads };
}

describe('CommittedReader', () => {
  const logger = pino({ level: 'silent' });

  it('reads a topic once per generation and answers for each of its partitions', async () => {
    const { committedOffsets, reads } = answering([
      { partition: 0, offset: '10', metadata: 'hs1;2.1' },
      { partition: 1, offset: '-1', metadata: null },
    ]);
    const reader = new CommittedReader(committedOffsets, logger);

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
    expect(reads).toEqual(['deliveries', 'deliveries']);
  });

  it('reads again after a handover completes, which its previous owner committed for', async () => {
    const answers: CommittedOffset[][] = [
      [{ partition: 3, offset: '10', metadata: null }],
      [{ partition: 3, offset: '20', metadata: null }],
    ];
    let reads = 0;
    const reader = new CommittedReader(async () => answers[Math.min(reads++, 1)], logger);

    // Partition 0 (not handed over) is read first; 3 starts once its old owner has committed 20.
    await reader.finished(1, 'deliveries', 0);
    reader.forgetReads();
    const gained = await reader.finished(1, 'deliveries', 3);

    expect(reads).toBe(2);
    expect(['15', '19', '20'].map((offset) => gained.has(offset))).toEqual([true, true, false]);
  });

  it('knows nothing finished when the broker does not answer in time', async () => {
    const { committedOffsets } = answering(null);
    const reader = new CommittedReader(committedOffsets, logger, 20);

    const finished = await reader.finished(1, 'deliveries', 0);

    expect(finished.has('0')).toBe(false);
  });
});
