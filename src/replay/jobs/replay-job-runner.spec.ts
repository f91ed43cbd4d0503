import { Registry } from 'prom-client';
import { TransientError } from '../../domain/transient';
import { silentLogger, testConfig } from '../../testing/fakes';
import type { JobCounts, ReplayJob, ResumePoint } from './replay-job';
import {
  ReplayJobExecutors,
  type AfterChunk,
  type ChunkDone,
  type ReplayJobExecutor,
} from './replay-job-executors';
import { ReplayJobRunner, resumeAfterMs } from './replay-job-runner';
import type { ReplayJobs } from './replay-jobs.repository';

/** The table as the runner uses it: one job, a lease holder, and what was written. */
class FakeJobs {
  holder: string | null = null;
  saved: Array<{ counts: JobCounts; resumePoint: ResumePoint }> = [];
  finished: Array<{ state: string; error: string | null }> = [];
  handedBack = 0;
  resumeAfter: number[] = [];
  cancelRequested = false;
  finishFails = false;
  finishAttempts = 0;
  claimable: ReplayJob | null;

  constructor(job: ReplayJob) {
    this.claimable = job;
  }

  async claim(holder: string): Promise<ReplayJob | null> {
    const job = this.claimable;
    this.claimable = null;
    if (job) this.holder = holder;
    return job;
  }

  async saveProgress(
    _id: string,
    holder: string,
    _leaseMs: number,
    counts: JobCounts,
    resumePoint: ResumePoint,
  ) {
    if (holder !== this.holder) return null;
    this.saved.push({ counts, resumePoint });
    return { cancelRequested: this.cancelRequested };
  }

  async renew(_id: string, holder: string) {
    return holder === this.holder ? { cancelRequested: this.cancelRequested } : null;
  }

  async finish(_id: string, holder: string, state: string, error: string | null) {
    this.finishAttempts++;
    if (this.finishFails) throw new Error('Connection terminated unexpectedly');
    if (holder !== this.holder) return false;
    this.finished.push({ state, error });
    return true;
  }

  async handBack(_id: string, holder: string, resumeAfterMs = 0) {
    if (holder !== this.holder) return;
    this.handedBack++;
    this.resumeAfter.push(resumeAfterMs);
  }

  async countByState() {
    return [];
  }
}

function job(overrides: Partial<ReplayJob> = {}): ReplayJob {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    tenantId: '00000000-0000-4000-8000-000000000002',
    endpointId: '00000000-0000-4000-8000-000000000003',
    kind: 'dead_letters',
    since: null,
    until: null,
    upTo: new Date(),
    state: 'running',
    cancelRequested: false,
    counts: { read: 10, matched: 10, replayed: 10 },
    resumePoint: { kind: 'dead_letters', lastDeadLetterId: null },
    error: null,
    claims: 1,
    createdAt: new Date(),
    startedAt: new Date(),
    finishedAt: null,
    ...overrides,
  };
}

/** An executor that sends `chunks` chunks of 5, or fails, as told. */
class ScriptedExecutor implements ReplayJobExecutor {
  readonly kind = 'dead_letters' as const;
  chunksRun = 0;
  constructor(
    private readonly chunks: number,
    private readonly failAfter: Error | null = null,
    private readonly beforeChunk: (index: number) => void = () => undefined,
  ) {}

  async run(_job: ReplayJob, afterChunk: (chunk: ChunkDone) => Promise<AfterChunk>) {
    for (let index = 0; index < this.chunks; index++) {
      this.beforeChunk(index);
      this.chunksRun++;
      const step = await afterChunk({
        read: 5,
        matched: 5,
        replayed: 5,
        resumePoint: { kind: 'dead_letters', lastDeadLetterId: `dl-${index}` },
      });
      if (step === 'stop') return 'stopped' as const;
    }
    if (this.failAfter) throw this.failAfter;
    return 'done' as const;
  }
}

function newRunner(jobs: FakeJobs, executor: ReplayJobExecutor): ReplayJobRunner {
  const executors = new ReplayJobExecutors();
  executors.register(executor);
  return new ReplayJobRunner(
    testConfig({ HOOKSTREAM_REPLAY_JOB_LEASE: '3s' }),
    jobs as unknown as ReplayJobs,
    executors,
    new Registry(),
    silentLogger,
  );
}

async function runOne(
  jobs: FakeJobs,
  executor: ReplayJobExecutor,
  until: () => boolean,
): Promise<ReplayJobRunner> {
  const runner = newRunner(jobs, executor);
  runner.onApplicationBootstrap();
  const deadline = Date.now() + 5_000;
  while (!until()) {
    if (Date.now() > deadline) throw new Error('the runner did not get there in 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await runner.beforeApplicationShutdown();
  return runner;
}

describe('ReplayJobRunner', () => {
  it('saves counts and the resume point after every chunk, carrying on from the saved counts, then succeeds', async () => {
    const jobs = new FakeJobs(job());
    await runOne(jobs, new ScriptedExecutor(3), () => jobs.finished.length > 0);
    expect(jobs.saved.map((s) => s.counts.replayed)).toEqual([15, 20, 25]);
    expect(jobs.saved[2].resumePoint).toEqual({ kind: 'dead_letters', lastDeadLetterId: 'dl-2' });
    expect(jobs.finished).toEqual([{ state: 'succeeded', error: null }]);
  });

  it('stops after the chunk in which a cancel was seen, and marks the job cancelled', async () => {
    const jobs = new FakeJobs(job());
    const executor = new ScriptedExecutor(10, null, (index) => {
      if (index === 1) jobs.cancelRequested = true;
    });
    await runOne(jobs, executor, () => jobs.finished.length > 0);
    expect(executor.chunksRun).toBe(2);
    expect(jobs.finished).toEqual([{ state: 'cancelled', error: null }]);
  });

  it('cancels a job claimed with a cancel already asked for without running it', async () => {
    const jobs = new FakeJobs(job({ cancelRequested: true }));
    const executor = new ScriptedExecutor(3);
    await runOne(jobs, executor, () => jobs.finished.length > 0);
    expect(executor.chunksRun).toBe(0);
    expect(jobs.finished).toEqual([{ state: 'cancelled', error: null }]);
  });

  it('writes nothing more once its lease was taken over', async () => {
    const jobs = new FakeJobs(job());
    const executor = new ScriptedExecutor(10, null, (index) => {
      if (index === 2) jobs.holder = 'another replica';
    });
    await runOne(jobs, executor, () => executor.chunksRun === 3);
    expect(executor.chunksRun).toBe(3);
    expect(jobs.saved).toHaveLength(2);
    expect(jobs.finished).toEqual([]);
    expect(jobs.handedBack).toBe(0);
  });

  it('hands the job back on a transient failure and fails it on any other', async () => {
    const transient = new FakeJobs(job());
    await runOne(
      transient,
      new ScriptedExecutor(1, new TransientError('broker away')),
      () => transient.handedBack > 0,
    );
    expect(transient.finished).toEqual([]);

    const broken = new FakeJobs(job());
    await runOne(
      broken,
      new ScriptedExecutor(1, new Error('endpoint is disabled')),
      () => broken.finished.length > 0,
    );
    expect(broken.finished).toEqual([{ state: 'failed', error: 'endpoint is disabled' }]);
  });

  it('resumes a job interrupted again and again later each time: 1 s, doubling, at most a minute', async () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 30].map(resumeAfterMs)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000,
    ]);
    const jobs = new FakeJobs(job());
    const runner = newRunner(jobs, new ScriptedExecutor(1, new TransientError('topic refused by an ACL')));
    const runOnce = async () => {
      jobs.claimable = job();
      await (runner as unknown as { claimWhileRoom(): Promise<void> }).claimWhileRoom();
      await Promise.all((runner as unknown as { running: Map<string, Promise<void>> }).running.values());
    };
    for (let i = 0; i < 3; i++) await runOnce();
    expect(jobs.resumeAfter).toEqual([1000, 2000, 4000]);
  });

  it('lives through a failure to mark a job finished (PostgreSQL away then): the lease lapses instead', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const jobs = new FakeJobs(job({ cancelRequested: true }));
      jobs.finishFails = true;
      await runOne(jobs, new ScriptedExecutor(3), () => jobs.finishAttempts > 0);
      // Let a rejection nobody handled be reported before looking.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('gives a job up after too many runs that ended in crashes', async () => {
    const jobs = new FakeJobs(job({ claims: 11 }));
    const executor = new ScriptedExecutor(3);
    await runOne(jobs, executor, () => jobs.finished.length > 0);
    expect(executor.chunksRun).toBe(0);
    expect(jobs.finished[0]).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/gave up after 10 runs/),
    });
  });
});
