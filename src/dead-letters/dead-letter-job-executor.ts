import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DeliveryTaskProducer } from '../replay/delivery-task-producer';
import type { ReplayJob } from '../replay/jobs/replay-job';
import {
  ReplayJobExecutors,
  type AfterChunk,
  type ChunkDone,
  type ReplayJobExecutor,
} from '../replay/jobs/replay-job-executors';
import { ReplayTargets } from '../replay/replay-target';
import { DeadLettersRepository } from './dead-letters.repository';
import { asReplay, replayableTask } from './replayed-task';

/**
 * A dead-letter replay job: replays the endpoint's not-yet-replayed dead letters (dead-lettered up
 * to the job's `upTo`), oldest first, a chunk at a time. Each chunk is claimed for the job, produced,
 * then marked replayed (DeadLettersRepository.replayBatch), so a crash re-sends at most the chunk
 * whose marking did not commit; the job's counts are saved after it, so they may miss that one chunk.
 */
@Injectable()
export class DeadLetterJobExecutor implements ReplayJobExecutor, OnModuleInit {
  readonly kind = 'dead_letters' as const;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly deadLetters: DeadLettersRepository,
    private readonly targets: ReplayTargets,
    private readonly tasks: DeliveryTaskProducer,
    private readonly executors: ReplayJobExecutors,
  ) {}

  onModuleInit(): void {
    this.executors.register(this);
  }

  async run(
    job: ReplayJob,
    afterChunk: (chunk: ChunkDone) => Promise<AfterChunk>,
  ): Promise<'done' | 'stopped'> {
    const chunkSize = this.config.replayJobs.chunkRecords;
    const upTo = job.upTo ?? job.createdAt;
    for (;;) {
      // Disabled or deleted meanwhile: the job fails saying so (409/404 text), nothing more is sent.
      const target = await this.targets.require(job.tenantId, job.endpointId);
      let lastId: string | null = null;
      const count = await this.deadLetters.replayBatch(
        job.id,
        job.tenantId,
        target.id,
        upTo,
        chunkSize,
        (rows) => {
          lastId = rows[rows.length - 1]?.id ?? null;
          return this.tasks.send(rows.map((deadLetter) => asReplay(replayableTask(deadLetter))));
        },
      );
      if (count === 0) return 'done';
      const step = await afterChunk({
        read: count,
        matched: count,
        replayed: count,
        resumePoint: { kind: 'dead_letters', lastDeadLetterId: lastId },
      });
      // A chunk short of chunkSize may have been cut by its tasks' bytes: only an empty one ends the job.
      if (step === 'stop') return 'stopped';
    }
  }
}
