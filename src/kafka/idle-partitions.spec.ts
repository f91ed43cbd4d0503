import { isIdle, probeIntervalMs, type ProbedPartition } from './idle-partitions';

const partition = (fields: Partial<ProbedPartition>): ProbedPartition => ({
  topic: 'tier',
  partition: 0,
  end: 10n,
  start: 0n,
  committed: null,
  fetchedNext: null,
  ...fields,
});

describe('isIdle', () => {
  it('is idle when the member has fetched up to the end', () => {
    expect(isIdle(partition({ fetchedNext: 10n, committed: 4n }))).toBe(true);
    expect(isIdle(partition({ fetchedNext: 9n, committed: 4n }))).toBe(false);
  });

  it('reads from the committed offset before fetching, and from the start without one', () => {
    expect(isIdle(partition({ committed: 10n }))).toBe(true);
    expect(isIdle(partition({ committed: 3n }))).toBe(false);
    expect(isIdle(partition({ start: 10n }))).toBe(true);
    expect(isIdle(partition({ start: 0n }))).toBe(false);
    expect(isIdle(partition({ start: 0n, end: 0n }))).toBe(true);
  });

  it('takes the furthest of what it knows: a commit by the previous owner past its own fetches', () => {
    expect(isIdle(partition({ fetchedNext: 5n, committed: 10n }))).toBe(true);
  });
});

describe('probeIntervalMs', () => {
  it('is half the shortest delay, between 50 and 500 ms', () => {
    expect(probeIntervalMs(5_000)).toBe(500);
    expect(probeIntervalMs(1_000)).toBe(500);
    expect(probeIntervalMs(600)).toBe(300);
    expect(probeIntervalMs(20)).toBe(50);
  });
});
