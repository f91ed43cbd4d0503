import type { RunningService } from '../support/service';

/** The child process is still the one started at the beginning and has not exited. */
export function assertSameLiveProcess(service: RunningService, pid: number | undefined): void {
  expect(pid).toBeDefined();
  expect(service.process.pid).toBe(pid);
  expect(service.process.exitCode).toBeNull();
  expect(service.process.signalCode).toBeNull();
  // Signal 0 only checks that the process exists; it throws ESRCH otherwise.
  expect(() => process.kill(pid!, 0)).not.toThrow();
  expect(service.logs.filter((entry) => entry.msg === 'hookstream ready')).toHaveLength(1);
}
