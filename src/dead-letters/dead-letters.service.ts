import { Inject, Injectable } from '@nestjs/common';
import { isUUID } from 'class-validator';
import { CLOCK } from '../common/clock.module';
import { DomainError } from '../common/domain-error';
import type { Clock } from '../domain/clock';
import type { DeliveryTask } from '../domain/delivery-task';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor } from '../common/pagination';
import { IngestRate } from '../ingest/ingest-rate';
import { DeliveryTaskProducer } from '../replay/delivery-task-producer';
import type { ReplayJobDto } from '../replay/jobs/dto/replay-job.dto';
import { ReplayJobsService } from '../replay/jobs/replay-jobs.service';
import { ReplayTargets } from '../replay/replay-target';
import { DeadLettersRepository, type ListedDeadLetter } from './dead-letters.repository';
import { asReplay, replayableTask } from './replayed-task';
import type { DeadLetterDto, DeadLetterPageDto, ListDeadLettersQueryDto } from './dto/dead-letter.dto';

/** Lists a tenant's dead letters and replays them as fresh first attempts with the same webhook-id. */
@Injectable()
export class DeadLettersService {
  constructor(
    private readonly deadLetters: DeadLettersRepository,
    private readonly targets: ReplayTargets,
    private readonly tasks: DeliveryTaskProducer,
    private readonly jobs: ReplayJobsService,
    @Inject(IngestRate) private readonly rate: Pick<IngestRate, 'take'>,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async list(tenantId: string, query: ListDeadLettersQueryDto): Promise<DeadLetterPageDto> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
    if (query.cursor !== undefined && after === null) {
      throw DomainError.invalid('cursor is not valid', [
        'cursor must be a nextCursor value from a previous page',
      ]);
    }
    const rows = await this.deadLetters.page(
      tenantId,
      {
        endpointId: query.endpointId,
        since: query.since === undefined ? undefined : new Date(query.since),
        until: query.until === undefined ? undefined : new Date(query.until),
      },
      after,
      limit + 1,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(toDto),
      nextCursor: rows.length > limit ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  /**
   * Replays one dead letter (again, if it was replayed before). Takes a token of the tenant's ingest
   * rate first, as a published event does (429 past it), so a loop of replays is metered.
   */
  async replay(tenantId: string, id: string): Promise<number> {
    if (!isUUID(id)) throw DomainError.notFound('dead letter');
    await this.rate.take(tenantId, this.clock.now());
    const replayed = await this.deadLetters.replayOne(tenantId, id, async (deadLetter) => {
      const task = replayableTask(deadLetter);
      await this.requireEnabledEndpoint(tenantId, task.endpointId);
      await this.tasks.send([asReplay(task)]);
    });
    if (!replayed) throw DomainError.notFound('dead letter');
    return 1;
  }

  /** The newest dead letters of every tenant, for the operator's dashboard. */
  latest(limit: number): Promise<ListedDeadLetter[]> {
    return this.deadLetters.latest(limit);
  }

  /** An operator's replay of any tenant's dead letter; resolves with the new delivery. */
  async replayAsOperator(id: string): Promise<DeliveryTask> {
    if (!isUUID(id)) throw DomainError.notFound('dead letter');
    let replay: DeliveryTask | undefined;
    const replayed = await this.deadLetters.replayOne(null, id, async (deadLetter) => {
      replay = asReplay(replayableTask(deadLetter));
      await this.tasks.send([replay]);
    });
    if (!replayed || !replay) throw DomainError.notFound('dead letter');
    return replay;
  }

  /**
   * A job that replays every not-yet-replayed dead letter of the endpoint, oldest first. Deliveries
   * that fail again while it runs are dead-lettered anew; they are not picked up by it.
   */
  replayEndpoint(tenantId: string, endpointId: string): Promise<ReplayJobDto> {
    return this.jobs.createDeadLetterJob(tenantId, endpointId);
  }

  private async requireEnabledEndpoint(tenantId: string, endpointId: string): Promise<void> {
    try {
      await this.targets.require(tenantId, endpointId);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'not_found') {
        throw new DomainError(
          'conflict',
          'the endpoint of this dead letter no longer exists; nothing to replay to',
        );
      }
      throw error;
    }
  }
}

function toDto(row: ListedDeadLetter): DeadLetterDto {
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventType: row.eventType,
    deliveryId: row.deliveryId,
    reason: row.reason,
    lastError: row.lastError,
    attempts: row.attempts,
    createdAt: row.createdAt.toISOString(),
    replayedAt: row.replayedAt?.toISOString() ?? null,
  };
}
