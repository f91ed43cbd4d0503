import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.module';
import { toDeadLetterRow } from '../domain/dead-letter';
import { positionOf, type ConsumedRecord } from '../domain/records';
import { TaskSeal } from '../domain/task-seal';
import { DeadLettersRepository } from './dead-letters.repository';

/**
 * Mirrors the dead-letter topic into `dead_letters` so dead letters can be listed and replayed over
 * REST. Idempotent per (topic, partition, offset); while PostgreSQL is down the write rejects and
 * the consumer hands the record back later, so nothing is lost.
 */
@Injectable()
export class DeadLetterMirror {
  private readonly logger: Logger;

  constructor(
    private readonly deadLetters: DeadLettersRepository,
    @Inject(LOGGER) logger: Logger,
    @Inject(TaskSeal) private readonly seal: TaskSeal,
  ) {
    this.logger = logger.child({ component: 'dlq-mirror' });
  }

  async mirror(record: ConsumedRecord): Promise<void> {
    const row = toDeadLetterRow(record, Date.now(), (value) => this.seal.open(value).task);
    await this.deadLetters.insert(row);
    this.logger.debug({ offset: positionOf(record), reason: row.reason }, 'dead letter mirrored');
  }
}
