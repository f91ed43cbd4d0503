import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../../common/logger.module';
import type { ListedDeadLetter } from '../../dead-letters/dead-letters.repository';
import { DeadLettersService } from '../../dead-letters/dead-letters.service';

/** A stored dead letter as the operator API sends it: dates as ISO strings, no task body. */
export type OpsDeadLetter = Omit<ListedDeadLetter, 'createdAt' | 'replayedAt'> & {
  createdAt: string;
  replayedAt: string | null;
};

/**
 * The operator's view of dead letters across tenants, on top of the tenant API's service
 * (dead-letters/): list the newest, and replay one as a fresh delivery of the same event.
 */
@Injectable()
export class OpsDeadLetters {
  constructor(
    private readonly deadLetters: DeadLettersService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async list(limit: number): Promise<OpsDeadLetter[]> {
    const rows = await this.deadLetters.latest(limit);
    return rows.map(({ createdAt, replayedAt, ...row }) => ({
      ...row,
      createdAt: createdAt.toISOString(),
      replayedAt: replayedAt?.toISOString() ?? null,
    }));
  }

  /** Produces the dead task again with a new delivery id (same event id: same `webhook-id`). */
  async replay(id: string): Promise<{ id: string; deliveryId: string; eventId: string }> {
    const replay = await this.deadLetters.replayAsOperator(id);
    this.logger.info(
      {
        deadLetterId: id,
        deliveryId: replay.deliveryId,
        eventId: replay.eventId,
        endpointId: replay.endpointId,
        tenantId: replay.tenantId,
      },
      'dead letter replayed by an operator',
    );
    return { id, deliveryId: replay.deliveryId, eventId: replay.eventId };
  }
}
