import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import {
  attemptStateToHeaders,
  FIRST_ATTEMPT,
  taskRecord,
  type HeldOrigin,
  type AttemptState,
  type DeliveryTask,
} from '../domain/delivery-task';
import type { OutgoingRecord } from '../domain/records';
import { tierFor } from '../domain/settlement';
import { RecordProducer } from '../kafka/record-producer';
import type { HeldDelivery } from './held-deliveries';

/**
 * Writes to the topics where deliveries wait: the retry tiers and the dead-letter topic. Each
 * write resolves once every in-sync replica has it, so the caller may then commit the record it
 * settles. Which tier and when is decided before (src/domain/settlement.ts); this only writes.
 */
@Injectable()
export class RetryTopics {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RecordProducer) private readonly producer: Pick<RecordProducer, 'send'>,
  ) {}

  /** The task waits in tier `tier` until `state.dueAtMs`. `encoded`: the task's sealed bytes (task-seal.ts). */
  async schedule(tier: number, task: DeliveryTask, state: AttemptState, encoded: Buffer): Promise<void> {
    await this.producer.send(this.tierTopic(tier), [taskRecord(task, state, encoded)]);
  }

  async deadLetter(record: OutgoingRecord): Promise<void> {
    await this.producer.send(this.config.kafka.dlqTopic, [record]);
  }

  /** Held deliveries go back through the shortest tier, due now, in the order they were held. */
  async releaseHeld(held: HeldDelivery[], nowMs: number, origin: HeldOrigin): Promise<void> {
    await this.producer.send(
      this.shortestTierTopic(),
      held.map(({ endpointId, task, state }) => ({
        key: endpointId,
        value: task,
        headers: attemptStateToHeaders({ ...state, dueAtMs: nowMs, origin }),
      })),
    );
  }

  /** Strict ordering: the next parked delivery, its bytes as parked, goes through the shortest tier, due now. */
  async releaseParked(task: DeliveryTask, encoded: Buffer, nowMs: number): Promise<void> {
    await this.producer.send(this.shortestTierTopic(), [
      taskRecord(task, { ...FIRST_ATTEMPT, dueAtMs: nowMs, origin: 'strict-release' }, encoded),
    ]);
  }

  private tierTopic(tier: number): string {
    const topic = this.config.kafka.retryTiers[tier]?.topic;
    if (topic === undefined) throw new RangeError(`no retry tier ${tier}`);
    return topic;
  }

  private shortestTierTopic(): string {
    return this.tierTopic(
      tierFor(
        0,
        this.config.kafka.retryTiers.map((tier) => tier.delayMs),
      ),
    );
  }
}
