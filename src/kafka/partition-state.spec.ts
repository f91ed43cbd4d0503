import { newPartitionState, offsetsToCommit, regroup, type PartitionState } from './partition-state';

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
  it('commits up to the lowest unfinished record, once', () => {
    const state = stateWith(['10', '11', '12'], ['10', '12']);
    const partitions = new Map([['events:2', state]]);

    expect(offsetsToCommit(partitions)).toEqual([{ topic: 'events', partition: 2, offset: '11' }]);
    state.committed = 11n;
    expect(offsetsToCommit(partitions)).toEqual([]);
  });

  it('moves past trailing transaction markers once nothing is in flight', () => {
    const state = stateWith(['10'], ['10']);
    state.fetchedThrough = 12n;

    expect(offsetsToCommit(new Map([['events:0', state]]))).toEqual([
      { topic: 'events', partition: 0, offset: '13' },
    ]);
  });
});
