import {
  markCommitted,
  newPartitionState,
  offsetsToCommit,
  regroup,
  type PartitionState,
} from './partition-state';

function stateWith(offsets: string[], complete: string[] = []): PartitionState {
  const state = newPartitionState(1);
  for (const offset of offsets) state.watermark.track(offset);
  for (const offset of complete) state.watermark.complete(offset);
  return state;
}

describe('regroup', () => {
  it('keeps the partitions still assigned, in the new generation, with their records in flight', () => {
    const kept = stateWith(['5', '6'], ['5']);
    const partitions = new Map([['events:0', kept]]);

    const regrouped = regroup(partitions, () => true, 2);

    expect(regrouped.kept.get('events:0')).toBe(kept);
    expect(kept.generation).toBe(2);
    expect(kept.watermark.inFlight()).toBe(1);
    expect(regrouped.lostWork).toEqual([]);
    expect(regrouped.pausedLost).toEqual([]);
  });

  it('drops a lost partition: its deferred records cleared, its running handlers and pause reported', () => {
    jest.useFakeTimers();
    try {
      const lost = stateWith(['1']);
      const fired = jest.fn();
      lost.deferred.set(setTimeout(fired, 1_000), 300);
      lost.deferredBytes = 300;
      lost.resumeTimer = setTimeout(fired, 20);
      lost.paused = true;
      const running = Promise.resolve();
      lost.pending.add(running);
      const partitions = new Map([
        ['events:0', stateWith([])],
        ['events:1', lost],
      ]);

      const regrouped = regroup(partitions, (topic, partition) => partition === 0, 2);
      jest.advanceTimersByTime(2_000);

      expect([...regrouped.kept.keys()]).toEqual(['events:0']);
      expect([...regrouped.lost]).toEqual([['events:1', lost]]);
      expect(regrouped.lostWork).toEqual([running]);
      expect(regrouped.pausedLost).toEqual([{ topic: 'events', partitions: [1] }]);
      expect(lost.deferred.size).toBe(0);
      expect(lost.deferredBytes).toBe(0);
      expect(fired).not.toHaveBeenCalled();
      expect(lost.generation).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('tells partitions of different topics with the same index apart', () => {
    const partitions = new Map([
      ['events:1', stateWith([])],
      ['events.retry:1', stateWith([])],
    ]);

    const regrouped = regroup(partitions, (topic) => topic === 'events.retry', 3);

    expect([...regrouped.kept.keys()]).toEqual(['events.retry:1']);
  });
});

describe('offsetsToCommit', () => {
  it('commits up to the lowest unfinished record, naming what finished past it, once', () => {
    const state = stateWith(['10', '11', '12'], ['10', '12']);
    const partitions = new Map([['events:2', state]]);

    const offsets = offsetsToCommit(partitions);
    expect(offsets).toEqual([
      { topic: 'events', partition: 2, offset: '11', metadata: 'hs1;1.1', completedCount: 2 },
    ]);
    markCommitted(partitions, offsets);
    expect(offsetsToCommit(partitions)).toEqual([]);
  });

  it('commits the same offset again when more finished past it (decision 92)', () => {
    const state = stateWith(['10', '11', '12', '13'], ['10', '12']);
    const partitions = new Map([['events:0', state]]);
    markCommitted(partitions, offsetsToCommit(partitions));

    state.watermark.complete('13');

    expect(offsetsToCommit(partitions)).toEqual([
      { topic: 'events', partition: 0, offset: '11', metadata: 'hs1;1.2', completedCount: 3 },
    ]);
  });

  it('commits where it began, naming what finished, while its first record is unfinished', () => {
    const state = stateWith(['40', '41', '42'], ['41']);

    expect(offsetsToCommit(new Map([['events:0', state]]))).toEqual([
      { topic: 'events', partition: 0, offset: '40', metadata: 'hs1;1.1', completedCount: 1 },
    ]);
  });

  it('names nothing once nothing is in flight, and moves past trailing transaction markers', () => {
    const state = stateWith(['10'], ['10']);
    state.fetchedThrough = 12n;

    expect(offsetsToCommit(new Map([['events:0', state]]))).toEqual([
      { topic: 'events', partition: 0, offset: '13', metadata: null, completedCount: 1 },
    ]);
  });

  it('commits nothing for a partition where nothing has finished', () => {
    expect(offsetsToCommit(new Map([['events:0', stateWith(['7', '8'])]]))).toEqual([]);
  });
});
