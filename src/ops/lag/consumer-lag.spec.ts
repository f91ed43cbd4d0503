import { OldestUnfinishedTracker, partitionLag, topicLag } from './consumer-lag';

describe('consumer lag', () => {
  it('is log end minus committed offset', () => {
    expect(partitionLag(40, 50, 0)).toBe(10);
    expect(partitionLag(50, 50, 0)).toBe(0);
  });

  it('counts every retained record when the group never committed (-1)', () => {
    expect(partitionLag(-1, 50, 0)).toBe(50);
    expect(partitionLag(-1, 50, 20)).toBe(30);
  });

  it('counts only retained records when retention deleted past the committed offset', () => {
    expect(partitionLag(5, 50, 20)).toBe(30);
  });

  it('builds per-partition rows and a total, partitions without a commit at -1', () => {
    const lag = topicLag(
      'g',
      't',
      [{ partition: 1, offset: '7' }],
      [
        { partition: 1, high: '10', low: '0' },
        { partition: 0, high: '4', low: '1' },
      ],
    );
    expect(lag).toEqual({
      group: 'g',
      topic: 't',
      partitions: [
        { partition: 0, committedOffset: -1, logEndOffset: 4, lag: 3 },
        { partition: 1, committedOffset: 7, logEndOffset: 10, lag: 3 },
      ],
      totalLag: 6,
    });
  });
});

describe('OldestUnfinishedTracker', () => {
  it('dates the oldest unconsumed record by the first sample whose log end passed it', () => {
    const tracker = new OldestUnfinishedTracker();
    expect(tracker.observe('p', 10, 10, 0, 1_000)).toBe(0);
    expect(tracker.observe('p', 10, 15, 5, 6_000)).toBe(0);
    expect(tracker.observe('p', 10, 20, 10, 11_000)).toBe(5_000);
    // Consumed up to 15: the records past 15 appeared at 11 s.
    expect(tracker.observe('p', 15, 20, 5, 16_000)).toBe(5_000);
    expect(tracker.observe('p', 20, 20, 0, 21_000)).toBe(0);
  });

  it('reports a lower bound from its first sample when lag exists already', () => {
    const tracker = new OldestUnfinishedTracker();
    expect(tracker.observe('p', -1, 8, 8, 1_000)).toBe(0);
    expect(tracker.observe('p', -1, 8, 8, 4_000)).toBe(3_000);
  });
});
