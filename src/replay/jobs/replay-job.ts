/**
 * A replay job as the runner, the API and the table see it, and the pure rules about it: where a
 * window job stands per input partition, how far along it is, and what a cancel does to each state.
 * Plain TypeScript, unit-tested alone.
 */

export type ReplayJobKind = 'window' | 'dead_letters';
export type ReplayJobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const FINISHED_STATES: readonly ReplayJobState[] = ['succeeded', 'failed', 'cancelled'];

/** One input partition of a window job: offsets [start, end) fixed at creation, `next` still to read. */
export interface PartitionProgress {
  topic: string;
  partition: number;
  /** Decimal offsets: JSON keeps them exact, a bigint it cannot hold. */
  start: string;
  next: string;
  end: string;
}

/** Where a job picks up after a crash or a handover. */
export type ResumePoint =
  | { kind: 'window'; partitions: PartitionProgress[] }
  | { kind: 'dead_letters'; lastDeadLetterId: string | null };

export interface JobCounts {
  /** Input records (window) or dead letters read. */
  read: number;
  /** Of those, the ones for this endpoint: its tenant's, of a type it subscribes to. */
  matched: number;
  /** Written to the deliveries topic and acknowledged. */
  replayed: number;
}

export interface ReplayJob {
  id: string;
  tenantId: string;
  endpointId: string;
  kind: ReplayJobKind;
  /**
   * Window jobs: [since, until) by record time. Null when not given or past the request: the window
   * then ends at the offsets the input topics held when the request arrived.
   */
  since: Date | null;
  until: Date | null;
  /** Dead-letter jobs: dead letters dead-lettered no later than this. */
  upTo: Date | null;
  state: ReplayJobState;
  cancelRequested: boolean;
  counts: JobCounts;
  resumePoint: ResumePoint;
  error: string | null;
  /** How many times a runner has claimed it (1 unless a runner crashed or handed it over). */
  claims: number;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** The resume point of a new window job over these partition ranges. */
export function windowStart(
  ranges: Array<{ topic: string; partition: number; from: bigint; end: bigint }>,
): ResumePoint {
  return {
    kind: 'window',
    partitions: ranges.map((range) => ({
      topic: range.topic,
      partition: range.partition,
      start: range.from.toString(),
      next: range.from.toString(),
      end: range.end.toString(),
    })),
  };
}

/** The window's resume point with `partition` of `topic` read up to `next` (never moving back). */
export function advanceWindow(
  point: ResumePoint,
  topic: string,
  partition: number,
  next: bigint,
): ResumePoint {
  if (point.kind !== 'window') throw new Error('only a window job has partition positions');
  return {
    kind: 'window',
    partitions: point.partitions.map((p) => {
      if (p.topic !== topic || p.partition !== partition) return p;
      const capped = next > BigInt(p.end) ? BigInt(p.end) : next;
      return capped > BigInt(p.next) ? { ...p, next: capped.toString() } : p;
    }),
  };
}

/** What is left to read of a window job, as reader ranges. */
export function remainingRanges(
  point: ResumePoint,
): Array<{ topic: string; partition: number; from: bigint; end: bigint }> {
  if (point.kind !== 'window') return [];
  return point.partitions
    .map((p) => ({ topic: p.topic, partition: p.partition, from: BigInt(p.next), end: BigInt(p.end) }))
    .filter((range) => range.from < range.end);
}

/** Share of a window job's offsets read, 0..1; null for a dead-letter job (its total is not known). */
export function windowProgress(point: ResumePoint): number | null {
  if (point.kind !== 'window') return null;
  let total = 0n;
  let read = 0n;
  for (const p of point.partitions) {
    total += BigInt(p.end) - BigInt(p.start);
    read += BigInt(p.next) - BigInt(p.start);
  }
  if (total === 0n) return 1;
  // Four decimals are plenty for a progress bar and keep the division in bigint.
  return Number((read * 10_000n) / total) / 10_000;
}

/** What `POST /v1/replay-jobs/:id/cancel` does to a job in `state`. */
export type CancelAction = 'cancel_now' | 'request_stop' | 'already_cancelled' | 'refuse_finished';

export function cancelAction(state: ReplayJobState): CancelAction {
  switch (state) {
    case 'queued':
      return 'cancel_now';
    case 'running':
      // Seen by the runner between chunks: a chunk is never half sent.
      return 'request_stop';
    case 'cancelled':
      return 'already_cancelled';
    default:
      return 'refuse_finished';
  }
}

/** A runner gives up on a job claimed this many times: each claim after the first followed a crash. */
export const MAX_CLAIMS = 10;
