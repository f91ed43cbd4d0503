import { availableParallelism } from 'node:os';
import { parseCpuMax, usableCores } from './cpu-count';

describe('usableCores', () => {
  it('reads a cgroup v2 quota as CPUs, and no quota as none', () => {
    expect(parseCpuMax('200000 100000\n')).toBe(2);
    expect(parseCpuMax('150000 100000')).toBe(1.5);
    expect(parseCpuMax('max 100000')).toBeNull();
    expect(parseCpuMax(null)).toBeNull();
    expect(parseCpuMax('garbage')).toBeNull();
    expect(parseCpuMax('100 0')).toBeNull();
  });

  it('takes the fewer of the cores and the whole CPUs of the quota, at least one', () => {
    expect(usableCores(() => null)).toBe(availableParallelism());
    expect(usableCores(() => 'max 100000')).toBe(availableParallelism());
    expect(usableCores(() => '50000 100000')).toBe(1);
    expect(usableCores(() => `${(availableParallelism() + 8) * 100000} 100000`)).toBe(availableParallelism());
    if (availableParallelism() >= 2) expect(usableCores(() => '250000 100000')).toBe(2);
  });
});
