import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isUUID } from 'class-validator';
import { DomainError } from '../common/domain-error';
import type { DeliveryTask } from '../domain/delivery-task';
import { decodeCursor, DEFAULT_PAGE_SIZE, encodeCursor } from '../common/pagination';
import { DeliveryTaskProducer } from '../replay/delivery-task-producer';
import { ReplayTargets } from '../replay/replay-target';
import { DeadLettersRepository, type StoredDeadLetter } from './dead-letters.repository';
import type { DeadLetterDto, DeadLetterPageDto, ListDeadLettersQueryDto } from './dto/dead-letter.dto';

/** Dead letters claimed, produced and marked per transaction by an endpoint-wide replay. */
const REPLAY_BATCH = 500;

/** Lists a tenant's dead letters and replays them as fresh first attempts with the same webhook-id. */
@Injectable()
export class DeadLettersService {
  constructor(
    private readonly deadLetters: DeadLettersRepository,
    private readonly targets: ReplayTargets,
    private readonly tasks: DeliveryTaskProducer,
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

  /** Replays one dead letter (again, if it was replayed before). */
  async replay(tenantId: string, id: string): Promise<number> {
    if (!isUUID(id)) throw DomainError.notFound('dead letter');
    const replayed = await this.deadLetters.replayOne(tenantId, id, async (deadLetter) => {
      const task = replayableTask(deadLetter);
      await this.requireEnabledEndpoint(tenantId, task.endpointId);
      await this.tasks.send([asReplay(task)]);
    });
    if (!replayed) throw DomainError.notFound('dead letter');
    return 1;
  }

  /** The newest dead letters of every tenant, for the operator's dashboard. */
  latest(limit: number): Promise<StoredDeadLetter[]> {
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

  /** Replays every not-yet-replayed dead letter of the endpoint, oldest first. */
  async replayEndpoint(tenantId: string, endpointId: string): Promise<number> {
    const target = await this.targets.require(tenantId, endpointId);
    // Deliveries that fail again while this runs are dead-lettered anew; they are not picked up here.
    const upTo = new Date();
    let total = 0;
    for (;;) {
      const count = await this.deadLetters.replayBatch(
        tenantId,
        target.id,
        upTo,
        REPLAY_BATCH,
        (deadLetters) =>
          this.tasks.send(deadLetters.map((deadLetter) => asReplay(replayableTask(deadLetter)))),
      );
      total += count;
      if (count < REPLAY_BATCH) return total;
    }
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

function replayableTask(deadLetter: StoredDeadLetter): DeliveryTask {
  if (deadLetter.reason === 'task_unauthenticated') {
    // Replaying would seal, with Hookstream's key, a task someone else wrote (docs/security.md).
    throw new DomainError(
      'conflict',
      `dead letter ${deadLetter.id} is a delivery task Hookstream did not write (no valid MAC): it is never replayed`,
    );
  }
  if (deadLetter.task === null || deadLetter.endpointId === null) {
    throw new DomainError(
      'conflict',
      `dead letter ${deadLetter.id} (${deadLetter.reason}) holds no delivery task: it is bad input that ` +
        'never reached an endpoint, so it cannot be replayed; publish a corrected event instead',
    );
  }
  return deadLetter.task;
}

/** Same event (same webhook-id), a new delivery id so the attempt log tells the replay apart;
 *  latency is measured from the replay, not from the original publish. */
function asReplay(task: DeliveryTask): DeliveryTask {
  return { ...task, deliveryId: randomUUID(), publishedAtMs: Date.now() };
}

function toDto(row: StoredDeadLetter): DeadLetterDto {
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
