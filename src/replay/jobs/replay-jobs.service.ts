import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isUUID } from 'class-validator';
import { DomainError } from '../../common/domain-error';
import { decodeExactCursor, DEFAULT_PAGE_SIZE, encodeExactCursor } from '../../common/pagination';
import { QuotaMetrics } from '../../common/quota-metrics';
import { TopicRangeReader } from '../../kafka/topic-range-reader';
import { ReplayTargets } from '../replay-target';
import { replayWindow } from '../replay-window';
import type { ReplayJobDto, ReplayJobPageDto } from './dto/replay-job.dto';
import { cancelAction, windowProgress, windowStart, type ReplayJob } from './replay-job';
import { ReplayJobRunner } from './replay-job-runner';
import { ReplayJobs, type NewReplayJob } from './replay-jobs.repository';

/**
 * Queued or running jobs one tenant may have. One runs at a time per tenant; the bound keeps a
 * tenant from queueing work without end (the old limit was one window replay at a time).
 */
export const MAX_UNFINISHED_JOBS_PER_TENANT = 10;

/** Creates, lists, shows and cancels a tenant's replay jobs; the runner does the work. */
@Injectable()
export class ReplayJobsService {
  constructor(
    private readonly jobs: ReplayJobs,
    private readonly targets: ReplayTargets,
    private readonly reader: TopicRangeReader,
    private readonly runner: ReplayJobRunner,
    private readonly quotas: QuotaMetrics,
  ) {}

  /**
   * A backfill of [since, until) for one endpoint. The window's offsets are fixed now, per input
   * partition, so the job reads what the topics held when it was asked for, whenever it runs and
   * however often it is resumed.
   */
  async createWindowJob(
    tenantId: string,
    endpointId: string,
    since: string,
    until: string | undefined,
  ): Promise<ReplayJobDto> {
    const target = await this.targets.require(tenantId, endpointId);
    const window = replayWindow(since, until, Date.now(), await this.reader.retentionMs());
    const ranges = await this.reader.ranges(window);
    return this.create({
      id: randomUUID(),
      tenantId,
      endpointId: target.id,
      kind: 'window',
      since: new Date(window.sinceMs),
      // No until (or one past now): the window ends at the offsets fixed above, not at this host's
      // clock, so a record stamped by a producer whose clock runs ahead is not skipped.
      until: window.untilMs === null ? null : new Date(window.untilMs),
      upTo: null,
      resumePoint: windowStart(ranges),
    });
  }

  /** A replay of every not-yet-replayed dead letter of the endpoint dead-lettered until now. */
  async createDeadLetterJob(tenantId: string, endpointId: string): Promise<ReplayJobDto> {
    const target = await this.targets.require(tenantId, endpointId);
    return this.create({
      id: randomUUID(),
      tenantId,
      endpointId: target.id,
      kind: 'dead_letters',
      since: null,
      until: null,
      upTo: new Date(),
      resumePoint: { kind: 'dead_letters', lastDeadLetterId: null },
    });
  }

  async list(tenantId: string, limit = DEFAULT_PAGE_SIZE, cursor?: string): Promise<ReplayJobPageDto> {
    const after = cursor === undefined ? null : decodeExactCursor(cursor);
    if (cursor !== undefined && after === null) {
      throw DomainError.invalid('cursor is not valid', [
        'cursor must be a nextCursor value from a previous page',
      ]);
    }
    const rows = await this.jobs.page(tenantId, after, limit + 1);
    const page = rows.slice(0, limit);
    return {
      data: page.map(({ job }) => toDto(job)),
      nextCursor: rows.length > limit ? encodeExactCursor(page[page.length - 1].position) : null,
    };
  }

  async get(tenantId: string, id: string): Promise<ReplayJobDto> {
    return toDto(await this.require(tenantId, id));
  }

  async cancel(tenantId: string, id: string): Promise<ReplayJobDto> {
    const job = await this.require(tenantId, id);
    switch (cancelAction(job.state)) {
      case 'already_cancelled':
        return toDto(job);
      case 'refuse_finished':
        throw new DomainError('conflict', `replay job ${job.id} has already ${job.state}; nothing to cancel`);
      case 'cancel_now':
      case 'request_stop': {
        // The state may have moved since it was read (claimed, finished): try queued, then running.
        const changed =
          (await this.jobs.cancelQueued(tenantId, id)) ?? (await this.jobs.requestCancel(tenantId, id));
        if (changed) return toDto(changed);
        const now = await this.require(tenantId, id);
        if (now.state === 'cancelled') return toDto(now);
        throw new DomainError('conflict', `replay job ${now.id} has already ${now.state}; nothing to cancel`);
      }
    }
  }

  private async require(tenantId: string, id: string): Promise<ReplayJob> {
    const job = isUUID(id) ? await this.jobs.get(tenantId, id) : null;
    if (!job) throw DomainError.notFound('replay job');
    return job;
  }

  private async create(job: NewReplayJob): Promise<ReplayJobDto> {
    const created = await this.jobs.create(job, MAX_UNFINISHED_JOBS_PER_TENANT);
    if (!created) {
      this.quotas.rejected('window_replay', job.tenantId);
      throw DomainError.rateLimited(
        `this tenant already has ${MAX_UNFINISHED_JOBS_PER_TENANT} replay jobs queued or running; ` +
          'wait for one to finish or cancel one',
        10,
      );
    }
    this.runner.wake();
    return toDto(created);
  }
}

export function toDto(job: ReplayJob): ReplayJobDto {
  return {
    id: job.id,
    kind: job.kind,
    endpointId: job.endpointId,
    state: job.state,
    cancelRequested: job.cancelRequested,
    window:
      job.kind === 'window'
        ? { since: job.since?.toISOString() ?? null, until: job.until?.toISOString() ?? null }
        : null,
    deadLettersUpTo: job.upTo?.toISOString() ?? null,
    counts: job.counts,
    progress: job.state === 'succeeded' ? 1 : windowProgress(job.resumePoint),
    resumePoint: job.resumePoint,
    error: job.error,
    runs: job.claims,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}
