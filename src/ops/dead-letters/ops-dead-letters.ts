import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { LOGGER } from '../../common/logger.module';
import { DomainError } from '../../common/domain-error';
import { RecordProducer } from '../../kafka/record-producer';
import { encodeTask, type DeliveryTask } from '../../delivery/delivery-task';

export interface OpsDeadLetter {
  id: string;
  tenantId: string | null;
  endpointId: string | null;
  deliveryId: string | null;
  eventId: string | null;
  eventType: string | null;
  reason: string;
  lastError: string | null;
  attempts: number;
  createdAt: string;
  replayedAt: string | null;
}

interface DeadLetterRow {
  id: string;
  tenant_id: string | null;
  endpoint_id: string | null;
  delivery_id: string | null;
  event_id: string | null;
  event_type: string | null;
  reason: string;
  last_error: string | null;
  attempts: number;
  created_at: Date;
  replayed_at: Date | null;
}

/**
 * The operator's view of dead letters across tenants (the tenant API lives in dead-letters/):
 * list the newest, and replay one as a fresh delivery of the same event.
 */
@Injectable()
export class OpsDeadLetters {
  constructor(
    private readonly dataSource: DataSource,
    private readonly producer: RecordProducer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async list(limit: number): Promise<OpsDeadLetter[]> {
    const rows = await this.dataSource.query<DeadLetterRow[]>(
      `SELECT id, tenant_id, endpoint_id, delivery_id, event_id, event_type, reason, last_error, attempts,
              created_at, replayed_at
         FROM dead_letters ORDER BY created_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({
      id: row.id,
      tenantId: row.tenant_id,
      endpointId: row.endpoint_id,
      deliveryId: row.delivery_id,
      eventId: row.event_id,
      eventType: row.event_type,
      reason: row.reason,
      lastError: row.last_error,
      attempts: row.attempts,
      createdAt: new Date(row.created_at).toISOString(),
      replayedAt: row.replayed_at ? new Date(row.replayed_at).toISOString() : null,
    }));
  }

  /** Produces the dead task again with a new delivery id (same event id: same `webhook-id`). */
  async replay(id: string): Promise<{ id: string; deliveryId: string; eventId: string }> {
    const rows = await this.dataSource.query<Array<{ task: DeliveryTask | null }>>(
      `SELECT task FROM dead_letters WHERE id = $1`,
      [id],
    );
    if (rows.length === 0) throw DomainError.notFound('dead letter');
    const task = rows[0].task;
    if (!task) {
      throw new DomainError('conflict', 'this dead letter holds no decodable delivery task to replay');
    }
    // A replay is a new delivery: its latency counts from now, not from the original event.
    const replay: DeliveryTask = { ...task, deliveryId: randomUUID(), publishedAtMs: Date.now() };
    await this.producer.send(this.config.kafka.deliveriesTopic, [
      { key: replay.endpointId, value: encodeTask(replay), headers: { 'hs-replay-of': id } },
    ]);
    await this.dataSource.query(`UPDATE dead_letters SET replayed_at = now() WHERE id = $1`, [id]);
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
