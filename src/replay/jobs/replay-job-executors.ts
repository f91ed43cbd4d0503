import { Injectable } from '@nestjs/common';
import type { JobCounts, ReplayJob, ReplayJobKind, ResumePoint } from './replay-job';

/** What an executor reports after each chunk it has had acknowledged by Kafka. */
export interface ChunkDone {
  /** Added to the job's counts. */
  read: number;
  matched: number;
  replayed: number;
  resumePoint: ResumePoint;
}

/** The runner's answer to a chunk: go on, or stop (cancelled, or the lease was lost). */
export type AfterChunk = 'continue' | 'stop';

/**
 * Runs one kind of job from its resume point, a chunk at a time. `afterChunk` saves the chunk's
 * progress; the executor calls it only once the chunk's tasks are acknowledged, and stops at once
 * when it answers `stop`. Resolves with whether the job reached its end.
 */
export interface ReplayJobExecutor {
  readonly kind: ReplayJobKind;
  run(job: ReplayJob, afterChunk: (chunk: ChunkDone) => Promise<AfterChunk>): Promise<'done' | 'stopped'>;
}

/**
 * The executors by kind. Dead-letter replay registers its own from src/dead-letters, which sits above
 * src/replay (a folder never imports one above it), so the runner reaches it without that import.
 */
@Injectable()
export class ReplayJobExecutors {
  private readonly byKind = new Map<ReplayJobKind, ReplayJobExecutor>();

  register(executor: ReplayJobExecutor): void {
    if (this.byKind.has(executor.kind))
      throw new Error(`two executors for replay jobs of kind ${executor.kind}`);
    this.byKind.set(executor.kind, executor);
  }

  for(kind: ReplayJobKind): ReplayJobExecutor | undefined {
    return this.byKind.get(kind);
  }
}

/** The counts after `chunk`. */
export function addChunk(counts: JobCounts, chunk: ChunkDone): JobCounts {
  return {
    read: counts.read + chunk.read,
    matched: counts.matched + chunk.matched,
    replayed: counts.replayed + chunk.replayed,
  };
}
