import { SINGLE_THREADED_GC, workerExecArgv } from './worker-exec-argv';

describe('workerExecArgv', () => {
  const base = ['--max-old-space-size=256', '--max-semi-space-size=32'];

  it('adds the single-threaded collector when the workers fill the cores', () => {
    expect(workerExecArgv(base, 2, 2)).toEqual([...base, SINGLE_THREADED_GC]);
    expect(workerExecArgv(base, 4, 2)).toEqual([...base, SINGLE_THREADED_GC]);
  });

  it('keeps the parallel collector when cores are left over', () => {
    expect(workerExecArgv(base, 1, 2)).toEqual(base);
    expect(workerExecArgv(base, 3, 8)).toEqual(base);
  });

  it('leaves a collector flag the operator gave alone', () => {
    expect(workerExecArgv([...base, '--no-single-threaded-gc'], 2, 2)).toEqual([
      ...base,
      '--no-single-threaded-gc',
    ]);
    expect(workerExecArgv(['--single_threaded_gc'], 2, 2)).toEqual(['--single_threaded_gc']);
  });

  it('does not change the array it was given', () => {
    const execArgv = [...base];
    workerExecArgv(execArgv, 2, 2);
    expect(execArgv).toEqual(base);
  });
});
