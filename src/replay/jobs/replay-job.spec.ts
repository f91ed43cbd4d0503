import { addChunk } from './replay-job-executors';
import {
  advanceWindow,
  cancelAction,
  remainingRanges,
  windowProgress,
  windowStart,
  type ResumePoint,
} from './replay-job';

const ranges = [
  { topic: 'in', partition: 0, from: 10n, end: 110n },
  { topic: 'in', partition: 1, from: 0n, end: 0n },
  { topic: 'in', partition: 2, from: 5n, end: 105n },
];

describe('a window job’s resume point', () => {
  it('starts at each range’s first offset and keeps offsets as exact decimal text', () => {
    const big = windowStart([{ topic: 't', partition: 0, from: 2n ** 62n, end: 2n ** 62n + 3n }]);
    expect(big).toEqual({
      kind: 'window',
      partitions: [
        {
          topic: 't',
          partition: 0,
          start: '4611686018427387904',
          next: '4611686018427387904',
          end: '4611686018427387907',
        },
      ],
    });
    // Through JSON (the jsonb column) and back, nothing is rounded.
    expect(remainingRanges(JSON.parse(JSON.stringify(big)) as ResumePoint)).toEqual([
      { topic: 't', partition: 0, from: 2n ** 62n, end: 2n ** 62n + 3n },
    ]);
  });

  it('moves one partition forward, never back and never past its end', () => {
    let point = windowStart(ranges);
    point = advanceWindow(point, 'in', 0, 60n);
    expect(remainingRanges(point)).toEqual([
      { topic: 'in', partition: 0, from: 60n, end: 110n },
      { topic: 'in', partition: 2, from: 5n, end: 105n },
    ]);
    expect(advanceWindow(point, 'in', 0, 30n)).toEqual(point);
    point = advanceWindow(point, 'in', 0, 500n);
    expect(remainingRanges(point)).toEqual([{ topic: 'in', partition: 2, from: 5n, end: 105n }]);
    expect(point.kind === 'window' && point.partitions[0].next).toBe('110');
  });

  it('reports progress as the share of the window’s offsets read', () => {
    let point = windowStart(ranges);
    expect(windowProgress(point)).toBe(0);
    point = advanceWindow(point, 'in', 0, 110n);
    expect(windowProgress(point)).toBe(0.5);
    point = advanceWindow(point, 'in', 2, 30n);
    expect(windowProgress(point)).toBe(0.625);
    expect(windowProgress(windowStart([]))).toBe(1);
    expect(windowProgress({ kind: 'dead_letters', lastDeadLetterId: null })).toBeNull();
  });

  it('has nothing left to read once every partition is at its end', () => {
    let point = windowStart(ranges);
    point = advanceWindow(advanceWindow(point, 'in', 0, 110n), 'in', 2, 105n);
    expect(remainingRanges(point)).toEqual([]);
    expect(windowProgress(point)).toBe(1);
  });

  it('has no partitions for a dead-letter job', () => {
    const point: ResumePoint = { kind: 'dead_letters', lastDeadLetterId: 'x' };
    expect(remainingRanges(point)).toEqual([]);
    expect(() => advanceWindow(point, 'in', 0, 1n)).toThrow(/only a window job/);
  });
});

describe('cancelling a job', () => {
  it('cancels a queued job at once, asks a running one to stop, and leaves finished ones be', () => {
    expect(cancelAction('queued')).toBe('cancel_now');
    expect(cancelAction('running')).toBe('request_stop');
    expect(cancelAction('cancelled')).toBe('already_cancelled');
    expect(cancelAction('succeeded')).toBe('refuse_finished');
    expect(cancelAction('failed')).toBe('refuse_finished');
  });
});

describe('job counts', () => {
  it('add up chunk by chunk', () => {
    const resumePoint: ResumePoint = { kind: 'dead_letters', lastDeadLetterId: null };
    const after = addChunk(
      addChunk({ read: 0, matched: 0, replayed: 0 }, { read: 1000, matched: 10, replayed: 10, resumePoint }),
      { read: 500, matched: 5, replayed: 5, resumePoint },
    );
    expect(after).toEqual({ read: 1500, matched: 15, replayed: 15 });
  });
});
