import { GroupCommit, GroupCommitOverflow } from './group-commit';

/** A write the test finishes by hand. */
function controlledWrites<T>() {
  const batches: T[][] = [];
  const finish: Array<(error?: Error) => void> = [];
  const write = (batch: T[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push(batch);
      finish.push((error) => (error ? reject(error) : resolve()));
    });
  return { batches, finish, write };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('writes at once when idle and gathers what arrives meanwhile into the next write', async () => {
    const writes = controlledWrites<number>();
    const commit = new GroupCommit<number>({ maxInFlight: 1, write: writes.write });
    const first = commit.submit(1);
    const rest = [2, 3, 4].map((n) => commit.submit(n));
    expect(writes.batches).toEqual([[1]]);
    writes.finish[0]();
    await first;
    await flush();
    expect(writes.batches).toEqual([[1], [2, 3, 4]]);
    writes.finish[1]();
    await Promise.all(rest);
  });

  it('keeps up to maxInFlight writes out at once', () => {
    const writes = controlledWrites<number>();
    const commit = new GroupCommit<number>({ maxInFlight: 2, write: writes.write });
    for (const n of [1, 2, 3, 4]) void commit.submit(n);
    expect(writes.batches).toEqual([[1], [2]]);
    expect(commit.inFlight()).toBe(2);
    expect(commit.queued()).toBe(2);
  });

  it('takes the oldest items that fit the byte limit, in order, and always at least one', async () => {
    const writes = controlledWrites<number>();
    const commit = new GroupCommit<number>({
      maxInFlight: 1,
      maxBatchBytes: 1_000,
      sizeOf: (n) => n,
      write: writes.write,
    });
    void commit.submit(1);
    for (const n of [400, 700, 10, 5_000]) void commit.submit(n);
    for (let i = 0; i < 4; i++) {
      writes.finish[i]();
      await flush();
    }
    expect(writes.batches).toEqual([[1], [400], [700, 10], [5_000]]);
  });

  it('caps the items of one write', () => {
    const writes = controlledWrites<number>();
    const commit = new GroupCommit<number>({ maxInFlight: 1, maxBatchItems: 2, write: writes.write });
    void commit.submit(0);
    for (const n of [1, 2, 3]) void commit.submit(n);
    writes.finish[0]();
    return flush().then(() => expect(writes.batches[1]).toEqual([1, 2]));
  });

  it('rejects every item of a failed write with its error, and goes on with the next', async () => {
    const writes = controlledWrites<string>();
    const commit = new GroupCommit<string>({ maxInFlight: 1, write: writes.write });
    const a = commit.submit('a');
    const b = commit.submit('b');
    const c = commit.submit('c');
    writes.finish[0](new Error('database down'));
    await expect(a).rejects.toThrow('database down');
    await flush();
    writes.finish[1]();
    await expect(Promise.all([b, c])).resolves.toEqual([undefined, undefined]);
  });

  it('drops the oldest waiting items past maxQueued, rejecting them as overflow', async () => {
    const writes = controlledWrites<number>();
    const commit = new GroupCommit<number>({ maxInFlight: 1, maxQueued: 2, write: writes.write });
    const inFlight = commit.submit(0);
    const waiting = [1, 2, 3].map((n) => commit.submit(n));
    await expect(waiting[0]).rejects.toBeInstanceOf(GroupCommitOverflow);
    expect(commit.queued()).toBe(2);
    writes.finish[0]();
    await inFlight;
    await flush();
    expect(writes.batches[1]).toEqual([2, 3]);
  });

  it('lingers to gather a batch, but writes a full batch at once', () => {
    jest.useFakeTimers();
    try {
      const writes = controlledWrites<number>();
      const commit = new GroupCommit<number>({
        maxInFlight: 1,
        maxBatchItems: 3,
        lingerMs: 250,
        write: writes.write,
      });
      void commit.submit(1);
      void commit.submit(2);
      jest.advanceTimersByTime(249);
      expect(writes.batches).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(writes.batches).toEqual([[1, 2]]);
      const other = new GroupCommit<number>({
        maxInFlight: 1,
        maxBatchItems: 3,
        lingerMs: 250,
        write: writes.write,
      });
      for (const n of [7, 8, 9]) void other.submit(n);
      expect(writes.batches).toEqual([
        [1, 2],
        [7, 8, 9],
      ]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('with gatherTurn, an idle writer writes what one turn submitted as one write, at its end', async () => {
    const writes = controlledWrites<number>();
    const commit = new GroupCommit<number>({ maxInFlight: 3, gatherTurn: true, write: writes.write });
    void commit.submit(1);
    await Promise.resolve();
    void commit.submit(2);
    expect(writes.batches).toEqual([]);
    await flush();
    expect(writes.batches).toEqual([[1, 2]]);
    // With a write in flight, an item goes out at once, as without gatherTurn.
    void commit.submit(3);
    expect(writes.batches).toEqual([[1, 2], [3]]);
    writes.finish[0]();
    writes.finish[1]();
    await flush();
    void commit.submit(4);
    expect(writes.batches).toHaveLength(2);
    await flush();
    expect(writes.batches).toEqual([[1, 2], [3], [4]]);
  });

  it('with gatherTurn, drain writes at once', async () => {
    const written: number[] = [];
    const commit = new GroupCommit<number>({
      maxInFlight: 1,
      gatherTurn: true,
      write: async (batch) => void written.push(...batch),
    });
    void commit.submit(1);
    const drained = commit.drain();
    expect(written).toEqual([1]);
    await drained;
  });

  it('drain writes what waits without lingering and resolves once nothing is left', async () => {
    const written: number[] = [];
    const commit = new GroupCommit<number>({
      maxInFlight: 1,
      maxBatchItems: 2,
      lingerMs: 60_000,
      write: async (batch) => void written.push(...batch),
    });
    for (const n of [1, 2, 3]) void commit.submit(n);
    await commit.drain();
    expect(written).toEqual([1, 2, 3]);
    expect(commit.queued() + commit.inFlight()).toBe(0);
  });
});

describe('GroupCommit without promises (add)', () => {
  it('reports a failed write of added items, and drops the oldest past the byte bound', async () => {
    const failed: string[][] = [];
    const dropped: string[] = [];
    const written: string[] = [];
    let writes = 0;
    const commit = new GroupCommit<string>({
      maxInFlight: 1,
      maxQueuedBytes: 10,
      sizeOf: (item) => item.length,
      write: async (batch) => {
        if (writes++ === 0) throw new Error('down');
        written.push(...batch);
      },
      onWriteFailed: (items) => failed.push(items),
      onDropped: (item) => dropped.push(item),
    });
    commit.add('first');
    for (const item of ['aaaa', 'bbbb', 'cccc']) commit.add(item);
    expect(dropped).toEqual(['aaaa']);
    expect(commit.queuedBytes()).toBe(8);
    await commit.drain();
    expect(failed).toEqual([['first']]);
    expect(written).toEqual(['bbbb', 'cccc']);
  });

  it('holds at most maxHeldBytes waiting and in flight together, dropping the oldest waiting', async () => {
    const writes = controlledWrites<string>();
    const dropped: string[] = [];
    const commit = new GroupCommit<string>({
      maxInFlight: 1,
      maxHeldBytes: 10,
      sizeOf: (item) => item.length,
      write: writes.write,
      onDropped: (item) => dropped.push(item),
    });
    commit.add('aaaaaa');
    expect(writes.batches).toEqual([['aaaaaa']]);
    for (const item of ['bb', 'cc', 'dd']) commit.add(item);
    expect(dropped).toEqual(['bb']);
    expect(commit.heldBytes()).toBe(10);
    commit.add('eeeeeeeeeee'); // alone past the bound, with bytes in flight: it goes too
    expect(dropped).toEqual(['bb', 'cc', 'dd', 'eeeeeeeeeee']);
    expect(commit.heldBytes()).toBe(6);
    writes.finish[0]();
    await flush();
    commit.add('ffffffffffff'); // alone, nothing in flight: written however large
    expect(writes.batches[1]).toEqual(['ffffffffffff']);
  });

  it('queues items given back with addFirst ahead of the others, so they are the first dropped', async () => {
    jest.useFakeTimers();
    try {
      const writes = controlledWrites<string>();
      const dropped: string[] = [];
      const commit = new GroupCommit<string>({
        maxInFlight: 1,
        lingerMs: 10,
        maxHeldBytes: 6,
        sizeOf: (item) => item.length,
        write: writes.write,
        onWriteFailed: (items) => commit.addFirst(items),
        onDropped: (item) => dropped.push(item),
      });
      commit.add('aa');
      commit.add('bb');
      await jest.advanceTimersByTimeAsync(10);
      expect(writes.batches).toEqual([['aa', 'bb']]);
      commit.add('cc');
      writes.finish[0](new Error('down'));
      await jest.advanceTimersByTimeAsync(0);
      commit.add('dd');
      expect(dropped).toEqual(['aa']);
      await jest.advanceTimersByTimeAsync(10);
      expect(writes.batches[1]).toEqual(['bb', 'cc', 'dd']);
      writes.finish[1]();
      await commit.drain();
    } finally {
      jest.useRealTimers();
    }
  });
});
