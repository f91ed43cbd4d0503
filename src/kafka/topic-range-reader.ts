import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import type { ConsumedRecord } from '../domain/records';
import { KafkaAdmin } from './kafka-admin';
import { KAFKA } from './kafka.constants';
import { toRecord } from './watermark-consumer';

/** A time window of a topic's records: [sinceMs, untilMs), or up to the end when untilMs is null. */
export interface TimeWindow {
  sinceMs: number;
  untilMs: number | null;
}

/** What a visitor tells the reader after a batch. */
export type ScanStep = 'continue' | 'stop';

export interface ScanResult {
  /** Records in the window handed to the visitor. */
  scanned: number;
  /** False when the visitor stopped early or the deadline passed before the window's end. */
  complete: boolean;
}

interface PartitionRange {
  topic: string;
  partition: number;
  start: bigint;
  /** Exclusive. */
  end: bigint;
  done: boolean;
}

/**
 * Reads a time window of the input topics back (window replay), in offset order per partition,
 * with a throwaway consumer group (deleted afterwards) that never commits. The window's end is
 * fixed when the scan starts: events arriving meanwhile are the fan-out's business, not the replay's.
 */
@Injectable()
export class TopicRangeReader {
  private readonly logger: Logger;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    private readonly kafkaAdmin: KafkaAdmin,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'replay' });
  }

  /** The shortest `retention.ms` of the input topics; null when every one keeps records forever. */
  retentionMs(): Promise<number | null> {
    return this.kafkaAdmin.retentionMs(this.config.kafka.inputTopics);
  }

  async scan(
    window: TimeWindow,
    deadlineMs: number,
    visit: (records: ConsumedRecord[]) => Promise<ScanStep>,
  ): Promise<ScanResult> {
    const ranges = await this.ranges(window);
    const pending = ranges.filter((range) => !range.done);
    if (pending.length === 0) return { scanned: 0, complete: true };

    const groupId = `${this.config.kafka.namespace}-replay-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
    const byKey = new Map(ranges.map((range) => [`${range.topic}:${range.partition}`, range]));
    let scanned = 0;
    let stopped = false;
    let settle!: (outcome: { error?: Error }) => void;
    const finished = new Promise<{ error?: Error }>((resolve) => (settle = resolve));
    const advance = (range: PartitionRange, lastOffset: string) => {
      if (BigInt(lastOffset) + 1n >= range.end) range.done = true;
      if (ranges.every((r) => r.done)) settle({});
    };

    const onBatch = async ({ batch, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      const range = byKey.get(`${batch.topic}:${batch.partition}`);
      if (!range || range.done || stopped || !isRunning() || isStale()) return;
      const records: ConsumedRecord[] = [];
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (offset < range.start || offset >= range.end) continue;
        const timestampMs = Number(message.timestamp);
        // Offsets were found by timestamp; a producer-set timestamp may still stray out of order.
        if (timestampMs < window.sinceMs || (window.untilMs !== null && timestampMs >= window.untilMs))
          continue;
        records.push(toRecord(batch.topic, batch.partition, message));
      }
      try {
        scanned += records.length;
        if (records.length && (await visit(records)) === 'stop') {
          stopped = true;
          settle({});
          return;
        }
      } catch (error) {
        stopped = true;
        settle({
          error: error instanceof Error ? error : new Error('replay visitor failed', { cause: error }),
        });
        return;
      }
      advance(range, batch.lastOffset());
      await heartbeat();
    };

    const timer = setTimeout(() => settle({}), deadlineMs);
    try {
      // A batch of only transaction markers never reaches eachBatch, but still moves the position.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const range = byKey.get(`${payload.topic}:${payload.partition}`);
        if (range && !range.done && !stopped) advance(range, payload.lastOffset);
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [...new Set(ranges.map((range) => range.topic))] });
      await consumer.run({ autoCommit: false, eachBatch: onBatch });
      for (const range of ranges) {
        if (range.done) {
          consumer.pause([{ topic: range.topic, partitions: [range.partition] }]);
        } else {
          consumer.seek({ topic: range.topic, partition: range.partition, offset: range.start.toString() });
        }
      }
      const outcome = await finished;
      if (outcome.error !== undefined) throw outcome.error;
      return { scanned, complete: !stopped && ranges.every((range) => range.done) };
    } finally {
      clearTimeout(timer);
      stopped = true;
      await consumer.disconnect().catch(() => undefined);
      await this.deleteGroup(groupId);
    }
  }

  /** Per partition: the first offset at `since` up to the first offset at `until` (or the end now). */
  private async ranges(window: TimeWindow): Promise<PartitionRange[]> {
    const ranges: PartitionRange[] = [];
    for (const topic of this.config.kafka.inputTopics) {
      const [starts, ends] = await Promise.all([
        this.kafkaAdmin.offsetsAt(topic, window.sinceMs),
        window.untilMs === null
          ? this.kafkaAdmin.endOffsets(topic)
          : this.kafkaAdmin.offsetsAt(topic, window.untilMs),
      ]);
      for (const { partition, offset } of starts) {
        const end = ends.find((e) => e.partition === partition)?.offset;
        if (end === undefined) continue;
        const range = { topic, partition, start: BigInt(offset), end: BigInt(end), done: false };
        range.done = range.start >= range.end;
        ranges.push(range);
      }
    }
    return ranges;
  }

  private async deleteGroup(groupId: string): Promise<void> {
    try {
      await this.kafkaAdmin.deleteGroup(groupId);
    } catch (error) {
      // Harmless leftover: the group never committed an offset and expires with the broker's
      // offsets.retention.minutes.
      this.logger.warn({ err: error, groupId }, 'could not delete the replay consumer group');
    }
  }
}
