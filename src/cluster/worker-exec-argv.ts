/** The V8 flag that makes a worker collect its garbage on its own thread, without helper threads. */
export const SINGLE_THREADED_GC = '--single-threaded-gc';

/**
 * The node flags each worker starts with: the supervisor's own, and `--single-threaded-gc` when
 * the workers fill the cores. Each worker's collector would otherwise start helper threads on
 * cores the other workers are using, and every pause then waits for helpers the scheduler has not
 * yet run: on two cores with two workers, p99 at 1,000 events/s and the CPU per delivery both fell
 * without them, while single-event ingest, whose one HTTP worker is the busy one, lost about a
 * tenth (README decision 81). The HTTP workers take it too: the parallel collector on them alone
 * won ingest a few per cent back and lost the tail again, since they deliver as well (decision 82).
 * Fewer workers than cores keep the parallel collector, which has idle cores to use. A flag for
 * it already given (`--no-single-threaded-gc` too) is left as is.
 */
export function workerExecArgv(execArgv: readonly string[], workers: number, cores: number): string[] {
  const given = execArgv.some((arg) => /^--(no-)?single[-_]threaded[-_]gc$/.test(arg));
  return given || workers < cores ? [...execArgv] : [...execArgv, SINGLE_THREADED_GC];
}
