import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const CGROUP_CPU_MAX = '/sys/fs/cgroup/cpu.max';

/**
 * The cores this process may use: the machine's (`os.availableParallelism()`), or fewer when a
 * cgroup v2 CPU quota caps it (a container given 2 CPUs on a 64-core host sees 64 cores, and 64
 * workers there would fight over 2). Node 20 does not read the quota itself.
 */
export function usableCores(readQuota: () => string | null = readCgroupCpuMax): number {
  const cores = availableParallelism();
  const quota = parseCpuMax(readQuota());
  return quota === null ? cores : Math.max(1, Math.min(cores, Math.floor(quota)));
}

/** `cpu.max` is "<quota> <period>" in microseconds, or "max <period>" for no quota: CPUs allowed, or null. */
export function parseCpuMax(text: string | null): number | null {
  const match = /^(\d+|max)\s+(\d+)\s*$/.exec(text?.trim() ?? '');
  if (!match || match[1] === 'max' || Number(match[2]) === 0) return null;
  return Number(match[1]) / Number(match[2]);
}

function readCgroupCpuMax(): string | null {
  try {
    return readFileSync(CGROUP_CPU_MAX, 'utf8');
  } catch {
    return null; // not cgroup v2, or not Linux
  }
}
