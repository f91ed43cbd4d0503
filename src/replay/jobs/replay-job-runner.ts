import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { LOGGER } from '../../common/logger.module';
import { METRICS_REGISTRY } from '../../common/metrics.registry';
import { isTransientError } from '../../domain/transient';
import { MAX_CLAIMS, type ReplayJob } from './replay-job';
import { addChunk, ReplayJobExecutors, type AfterChunk, type ChunkDone } from './replay-job-executors';
import { ReplayJobs } from './replay-jobs.repository';

/** How often an idle runner looks for a job (a job created on this replica wakes it at once). */
const POLL_MS = 1_000;
/** A job interrupted again and again (its input topic refused by an ACL, say) waits up to this long. */
const MAX_RESUME_AFTER_MS = 60_000;
/** Jobs whose interruptions this process counts; past it, the counts start over. */
const MAX_COUNTED_INTERRUPTIONS = 1_000;

/** How long a job interrupted `times` times in a row waits before it is claimed again: 1 s, doubling. */
export function resumeAfterMs(times: number): number {
  return Math.min(MAX_RESUME_AFTER_MS, POLL_MS * 2 ** Math.min(Math.max(0, times - 1), 16));
}

/**
 * Runs replay jobs in every replica with the `api` role: the replicas that accept them, whose work
 * is requests rather than the delivery hot path, so a million-event backfill takes no CPU from the
 * lanes of a delivery replica. Claims a job by lease (any replica, so a crashed replica's job is
 * resumed by another, or by itself after a restart, once the lease expires), at most
 * HOOKSTREAM_REPLAY_JOBS_PER_PROCESS at once, and saves its progress after every chunk.
 */
@Injectable()
export class ReplayJobRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Unique per run: a restarted process is a new holder and waits for its old leases to expire. */
  readonly holder: string;
  private readonly logger: Logger;
  private readonly running = new Map<string, Promise<void>>();
  /** Per job, its interruptions in a row in this process (reset when a run ends otherwise). */
  private readonly interruptions = new Map<string, number>();
  private readonly replayed: Counter<'kind'>;
  private readonly finished: Counter<'kind' | 'state'>;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private stopping = false;
  private enabled = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: ReplayJobs,
    private readonly executors: ReplayJobExecutors,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.holder = `${config.replicaName}/${randomUUID()}`;
    this.logger = logger.child({ component: 'replay-jobs' });
    this.replayed = new Counter({
      name: 'hookstream_replay_events_total',
      help: 'Events written again as deliveries by replay jobs (window backfills and dead-letter replays)',
      labelNames: ['kind'],
      registers: [registry],
    });
    this.finished = new Counter({
      name: 'hookstream_replay_jobs_finished_total',
      help: 'Replay jobs this process ended, by kind and final state',
      labelNames: ['kind', 'state'],
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    this.enabled = this.config.roles.has('api') && this.config.replayJobs.perProcess > 0;
    if (this.enabled) this.schedule(0);
  }

  /** A job was just created here: look now rather than at the next poll. */
  wake(): void {
    if (!this.enabled || this.stopping || this.polling) return;
    this.schedule(0);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    // Each job stops after its current chunk and hands its lease back. Half the shutdown deadline
    // at most, so the consumers still get theirs; a job still busy past it keeps its lease, which
    // expires (HOOKSTREAM_REPLAY_JOB_LEASE) and is then taken over from its last saved chunk.
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()]),
      new Promise((resolve) => (timeout = setTimeout(resolve, this.config.shutdownTimeoutMs / 2))),
    ]);
    clearTimeout(timeout);
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.polling = this.claimWhileRoom()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'could not claim a replay job; retrying'))
        .finally(() => {
          this.polling = null;
          this.schedule(POLL_MS);
        });
    }, delayMs);
  }

  private async claimWhileRoom(): Promise<void> {
    while (!this.stopping && this.running.size < this.config.replayJobs.perProcess) {
      const job = await this.jobs.claim(this.holder, this.config.replayJobs.leaseMs);
      if (!job) return;
      const run = this.run(job)
        // Only a failure to mark the job finished reaches here (PostgreSQL away at that moment):
        // the job's lease lapses and it is claimed again. Unhandled, it would end the process.
        .catch((error: unknown) => {
          this.logger.warn(
            { err: error, jobId: job.id },
            'replay job run ended in an error; its lease will lapse',
          );
          return 'interrupted' as const;
        })
        .then((ended) => {
          this.running.delete(job.id);
          // A slot is free: the next queued job need not wait for the poll. Not after an
          // interruption: the same job, oldest runnable, would be claimed again at once, in a loop
          // for as long as what interrupted it lasts; the poll takes it up a second later.
          if (ended !== 'interrupted') this.wake();
        });
      this.running.set(job.id, run);
    }
  }

  /**
   * Runs one claimed job to its end, or until it is cancelled, its lease is lost or the process
   * stops; 'interrupted' when it was handed back because Kafka or PostgreSQL is away.
   */
  private async run(job: ReplayJob): Promise<'interrupted' | void> {
    const log = this.logger.child({
      jobId: job.id,
      tenantId: job.tenantId,
      endpointId: job.endpointId,
      kind: job.kind,
    });
    const startedAt = Date.now();
    const end = async (
      state: 'succeeded' | 'failed' | 'cancelled',
      error: string | null,
      counts = job.counts,
    ) => {
      if (!(await this.jobs.finish(job.id, this.holder, state, error))) {
        log.warn('replay job was taken over before it could be marked finished');
        return;
      }
      this.finished.inc({ kind: job.kind, state });
      log.info({ state, error, ...counts, durationMs: Date.now() - startedAt }, 'replay job finished');
    };

    log.info({ claims: job.claims, ...job.counts, resumed: job.claims > 1 }, 'replay job started');
    if (job.cancelRequested) return end('cancelled', null);
    if (job.claims > MAX_CLAIMS) {
      return end('failed', `gave up after ${MAX_CLAIMS} runs that ended without finishing (crashes)`);
    }
    const executor = this.executors.for(job.kind);
    if (!executor) return end('failed', `no executor for replay jobs of kind ${job.kind}`);

    let counts = job.counts;
    let lost = false;
    let cancelled = false;
    const leaseMs = this.config.replayJobs.leaseMs;
    // Chunks normally renew the lease; this covers one that waits long (a broker outage).
    const renewal = setInterval(() => {
      this.jobs.renew(job.id, this.holder, leaseMs).then(
        (held) => {
          if (held === null) lost = true;
          else if (held.cancelRequested) cancelled = true;
        },
        (error: unknown) => log.warn({ err: error }, 'could not renew a replay job lease'),
      );
    }, leaseMs / 3);
    const afterChunk = async (chunk: ChunkDone): Promise<AfterChunk> => {
      counts = addChunk(counts, chunk);
      this.replayed.inc({ kind: job.kind }, chunk.replayed);
      const held = await this.jobs.saveProgress(job.id, this.holder, leaseMs, counts, chunk.resumePoint);
      if (held === null) lost = true;
      else if (held.cancelRequested) cancelled = true;
      return lost || cancelled || this.stopping ? 'stop' : 'continue';
    };
    try {
      const outcome = await executor.run(job, afterChunk);
      this.interruptions.delete(job.id);
      if (lost) return log.warn(counts, 'replay job lease lost; another runner has it');
      if (outcome === 'done') return await end('succeeded', null, counts);
      if (cancelled) return await end('cancelled', null, counts);
      await this.jobs.handBack(job.id, this.holder);
      log.info(counts, 'replay job handed back (shutting down)');
    } catch (error) {
      if (lost) return log.warn({ err: error }, 'replay job lease lost; another runner has it');
      if (isTransientError(error)) {
        // Kafka or PostgreSQL is away: the job is not at fault. Any runner resumes it from its last
        // saved chunk once it can claim it again.
        const times = (this.interruptions.get(job.id) ?? 0) + 1;
        if (this.interruptions.size >= MAX_COUNTED_INTERRUPTIONS) this.interruptions.clear();
        this.interruptions.set(job.id, times);
        const waitMs = resumeAfterMs(times);
        log.warn(
          { err: error, ...counts, interruptions: times, resumeAfterMs: waitMs },
          'replay job interrupted; handed back to resume later',
        );
        await this.jobs.handBack(job.id, this.holder, waitMs).catch(() => undefined);
        return 'interrupted';
      }
      this.interruptions.delete(job.id);
      await end('failed', error instanceof Error ? error.message : String(error), counts).catch(
        (finishError: unknown) => log.error({ err: finishError }, 'could not mark a replay job failed'),
      );
    } finally {
      clearInterval(renewal);
    }
  }
}
