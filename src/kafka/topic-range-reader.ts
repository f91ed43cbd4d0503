import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { withTimeout } from '../common/with-timeout';
import type { ConsumedRecord } from '../domain/records';
import { TransientError } from '../domain/transient';
import { KafkaAdmin } from './kafka-admin';
import { KAFKA } from './kafka.constants';
import { toRecord } from './consumed-record';
import { partitionKey } from './partition-key';

/** A time window of a topic's records: [sinceMs, untilMs), or up to the end when untilMs is null. */
export interface TimeWindow {
  sinceMs: number;
  untilMs: number | null;
}

/** What a visitor tells the reader after a chunk. */
export type ScanStep = 'continue' | 'stop';

/** Records [from, end) of one partition still to read. */
export interface PartitionRange {
  topic: string;
  partition: number;
  /** The next offset to read. */
  from: bigint;
  /** Exclusive. */
  end: bigint;
}

/** Where a chunk leaves its partition: everything before `next` has been handed to the visitor. */
export interface ChunkPosition {
  topic: string;
  partition: number;
  next: bigint;
}

export interface ScanResult {
  /** Records in the window handed to the visitor. */
  scanned: number;
  /** False when the visitor stopped early. */
  complete: boolean;
}

interface RangeState extends PartitionRange {
  done: boolean;
}

/** How long the admin may take to say why a scan is idle before the broker counts as away. */
const DIAGNOSIS_MS = 30_000;

/**
 * Reads ranges of the input topics back (replay jobs), in offset order per partition, a chunk at a
 * time, with a throwaway consumer group (deleted afterwards) that never commits. The ranges are fixed
 * by the caller (a job's resume point), so a resumed job reads exactly what was left.
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

  /** Those of `topics` the cluster no longer has: a range of one can never be read to its end. */
  missingTopics(topics: string[]): Promise<string[]> {
    return this.kafkaAdmin.missingTopics(topics);
  }

  /**
   * Hands the visitor the records of `ranges` whose timestamp is in `window`, at most `chunkRecords`
   * offsets at a time, one partition per chunk, serially; each chunk says where its partition now
   * stands. Rejects when a partition with records left yields nothing for `idleMs` outside the
   * visitor (whose own time, a send retried through an outage, is not idle): with a plain Error when
   * the range can no longer be read to its end (its topic deleted or recreated), so a job fails
   * instead of hanging; else with a TransientError (the broker is away or slow), so it is handed
   * back and resumes from its last saved chunk.
   */
  async scan(
    ranges: PartitionRange[],
    window: TimeWindow,
    options: { chunkRecords: number; idleMs: number },
    visit: (records: ConsumedRecord[], position: ChunkPosition) => Promise<ScanStep>,
  ): Promise<ScanResult> {
    const states: RangeState[] = ranges.map((range) => ({ ...range, done: range.from >= range.end }));
    if (states.every((range) => range.done)) return { scanned: 0, complete: true };

    const groupId = `${this.config.kafka.namespace}-replay-${randomUUID()}`;
    // A smaller fetch than kafkajs' default 10 MB: a job needs only a chunk at a time.
    const consumer = this.kafka.consumer({
      groupId,
      maxWaitTimeInMs: 100,
      maxBytes: 4 * 1024 * 1024,
      allowAutoTopicCreation: false,
    });
    const byKey = new Map(states.map((range) => [partitionKey(range.topic, range.partition), range]));
    let scanned = 0;
    let stopped = false;
    let lastProgressAt = Date.now();
    /** A visit is running: its time is the visitor's, not the broker's. */
    let visiting = false;
    /** The watchdog is asking the admin why the scan is idle. */
    let diagnosing = false;
    let settle!: (outcome: { error?: Error }) => void;
    const finished = new Promise<{ error?: Error }>((resolve) => (settle = resolve));
    const advance = (range: RangeState, next: bigint) => {
      lastProgressAt = Date.now();
      if (next > range.from) range.from = next;
      if (range.from >= range.end) range.done = true;
      if (states.every((r) => r.done)) settle({});
    };

    const onBatch = async ({ batch, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      const range = byKey.get(partitionKey(batch.topic, batch.partition));
      if (!range || range.done || stopped || !isRunning() || isStale()) return;
      const handOver = async (records: ConsumedRecord[], next: bigint): Promise<boolean> => {
        const capped = next > range.end ? range.end : next;
        scanned += records.length;
        visiting = true;
        let step: ScanStep;
        try {
          step = await visit(records, { topic: range.topic, partition: range.partition, next: capped });
        } finally {
          visiting = false;
        }
        advance(range, capped);
        await heartbeat();
        return step === 'continue';
      };
      try {
        let chunk: ConsumedRecord[] = [];
        let offsetsInChunk = 0;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < range.from) continue;
          if (offset >= range.end) break;
          offsetsInChunk++;
          const timestampMs = Number(message.timestamp);
          // Offsets were found by timestamp; a producer-set timestamp may still stray out of order.
          if (timestampMs >= window.sinceMs && (window.untilMs === null || timestampMs < window.untilMs)) {
            chunk.push(toRecord(batch.topic, batch.partition, message));
          }
          if (offsetsInChunk >= options.chunkRecords) {
            if (!(await handOver(chunk, offset + 1n))) return stop();
            if (stopped || !isRunning() || isStale()) return;
            chunk = [];
            offsetsInChunk = 0;
          }
        }
        if (offsetsInChunk > 0 || chunk.length > 0) {
          if (!(await handOver(chunk, BigInt(batch.lastOffset()) + 1n))) return stop();
        } else if (!range.done) {
          advance(range, BigInt(batch.lastOffset()) + 1n);
        }
      } catch (error) {
        stopped = true;
        settle({
          error: error instanceof Error ? error : new Error('replay visitor failed', { cause: error }),
        });
      }
    };
    const stop = () => {
      stopped = true;
      settle({});
    };

    const watchdog = setInterval(
      () => {
        if (visiting || diagnosing || Date.now() - lastProgressAt < options.idleMs) return;
        diagnosing = true;
        const idleSince = lastProgressAt;
        void this.idleFailure(
          states.filter((range) => !range.done),
          options.idleMs,
        ).then((error) => {
          diagnosing = false;
          // Records came meanwhile: the scan goes on.
          if (lastProgressAt === idleSince && !visiting) settle({ error });
        });
      },
      Math.min(options.idleMs, 1_000),
    );
    try {
      // A batch of only transaction markers never reaches eachBatch, but still moves the position.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const range = byKey.get(partitionKey(payload.topic, payload.partition));
        if (range && !range.done && !stopped) advance(range, BigInt(payload.lastOffset) + 1n);
      });
      await consumer.connect();
      // fromBeginning: a position retention has deleted meanwhile resets to the oldest record left,
      // not to the end (which would skip what is still there).
      await consumer.subscribe({
        topics: [...new Set(states.map((range) => range.topic))],
        fromBeginning: true,
      });
      await consumer.run({ autoCommit: false, eachBatch: onBatch });
      for (const range of states) {
        if (range.done) {
          consumer.pause([{ topic: range.topic, partitions: [range.partition] }]);
        } else {
          consumer.seek({ topic: range.topic, partition: range.partition, offset: range.from.toString() });
        }
      }
      lastProgressAt = Date.now();
      const outcome = await finished;
      if (outcome.error !== undefined) throw outcome.error;
      return { scanned, complete: !stopped && states.every((range) => range.done) };
    } finally {
      clearInterval(watchdog);
      stopped = true;
      await consumer.disconnect().catch(() => undefined);
      await this.deleteGroup(groupId);
    }
  }

  /**
   * Why `stuck` yielded nothing for `idleMs`. A range the cluster can no longer hold to its end (its
   * topic or partition gone, or its high watermark now below the range's end: the topic was
   * recreated) gives a plain Error: waiting cannot help. Otherwise, or when the admin cannot say (the
   * broker is away too), a TransientError.
   */
  private async idleFailure(stuck: RangeState[], idleMs: number): Promise<Error> {
    const idle = `no records arrived for ${idleMs} ms from ${stuck
      .map((r) => `${r.topic}/${r.partition}@${r.from}<${r.end}`)
      .join(', ')}`;
    const diagnosis = async (): Promise<Error> => {
      const topics = [...new Set(stuck.map((range) => range.topic))];
      const missing = await this.kafkaAdmin.missingTopics(topics);
      if (missing.length > 0) return new Error(`${idle}: topic ${missing.join(', ')} no longer exists`);
      for (const topic of topics) {
        const ends = await this.kafkaAdmin.endOffsets(topic);
        for (const range of stuck.filter((r) => r.topic === topic)) {
          const high = ends.find((end) => end.partition === range.partition)?.offset;
          if (high === undefined)
            return new Error(`${idle}: partition ${topic}/${range.partition} no longer exists`);
          if (BigInt(high) < range.end) {
            return new Error(
              `${idle}: ${topic}/${range.partition} now ends at offset ${high}, before ${range.end} (the topic was recreated)`,
            );
          }
        }
      }
      return new TransientError(`${idle}; the records are still there, so the broker is away or slow`);
    };
    try {
      return await withTimeout(
        diagnosis(),
        DIAGNOSIS_MS,
        () => new TransientError(`${idle}; the admin did not answer within ${DIAGNOSIS_MS} ms either`),
      );
    } catch (error) {
      return new TransientError(`${idle}; the admin could not reach the broker either`, { cause: error });
    }
  }

  /** Per partition: the first offset at `since` up to the first offset at `until` (or the end now). */
  async ranges(window: TimeWindow): Promise<PartitionRange[]> {
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
        ranges.push({ topic, partition, from: BigInt(offset), end: BigInt(end) });
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
