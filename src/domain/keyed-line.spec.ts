import { KeyedLimit, KeyedLine } from './keyed-line';

/** A piece of work the spec ends by hand. */
function work(log: string[], name: string) {
  let end!: () => void;
  let fail!: (error: Error) => void;
  const ended = new Promise<void>((resolve, reject) => {
    end = resolve;
    fail = reject;
  });
  return {
    run: () => {
      log.push(name);
      return ended;
    },
    end: () => end(),
    fail: (error: Error) => fail(error),
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedLine', () => {
  it('starts work of a key in the order handed in, each once the one before has settled either way', async () => {
    const line = new KeyedLine();
    const started: string[] = [];
    const [a1, a2, a3, b1] = ['a1', 'a2', 'a3', 'b1'].map((name) => work(started, name));
    const first = line.run('a', a1.run);
    const second = line.run('a', a2.run);
    const third = line.run('a', a3.run);
    void line.run('b', b1.run);
    await flush();
    expect(started).toEqual(['a1', 'b1']);
    a1.fail(new Error('refused'));
    await expect(first).rejects.toThrow('refused');
    await flush();
    expect(started).toEqual(['a1', 'b1', 'a2']);
    a2.end();
    await second;
    await flush();
    expect(started).toEqual(['a1', 'b1', 'a2', 'a3']);
    a3.end();
    b1.end();
    await third;
    await flush();
    expect(line.size()).toBe(0);
  });

  it('passes on a synchronous throw as a rejection and goes on with the next', async () => {
    const line = new KeyedLine();
    const thrown = line.run('a', () => {
      throw new Error('bad');
    });
    const next = line.run('a', async () => 'next');
    await expect(thrown).rejects.toThrow('bad');
    await expect(next).resolves.toBe('next');
  });
});

describe('KeyedLimit', () => {
  it('runs at most the limit per key at once, starting the rest in order as places free', async () => {
    const limit = new KeyedLimit();
    const started: string[] = [];
    const [a1, a2, a3, b1] = ['a1', 'a2', 'a3', 'b1'].map((name) => work(started, name));
    const runs = [
      limit.run('a', 2, a1.run),
      limit.run('a', 2, a2.run),
      limit.run('a', 2, a3.run),
      limit.run('b', 2, b1.run),
    ];
    await flush();
    expect(started).toEqual(['a1', 'a2', 'b1']);
    a2.fail(new Error('refused'));
    await expect(runs[1]).rejects.toThrow('refused');
    await flush();
    expect(started).toEqual(['a1', 'a2', 'b1', 'a3']);
    for (const piece of [a1, a3, b1]) piece.end();
    await Promise.all([runs[0], runs[2], runs[3]]);
    expect(limit.size()).toBe(0);
  });
});
