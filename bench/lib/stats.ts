import { execSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

/** Nearest-rank percentile of unsorted values (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function machineInfo(root: string): Record<string, unknown> {
  const gitCommit = (() => {
    try {
      return execSync('git rev-parse HEAD', { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    } catch {
      return 'unknown';
    }
  })();
  const dirty = (() => {
    try {
      return (
        execSync('git --no-optional-locks status --porcelain', {
          cwd: root,
          stdio: ['ignore', 'pipe', 'ignore'],
        })
          .toString()
          .trim().length > 0
      );
    } catch {
      return false;
    }
  })();
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    kafka: '4.4.0 (single node, KRaft, same host)',
    kafkajs: '2.2.4',
    date: new Date().toISOString(),
    gitCommit,
    gitDirty: dirty,
  };
}
