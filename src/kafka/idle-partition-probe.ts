import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { isIdle } from './idle-partitions';
import { setPaused } from './kafkajs-pauses';
import { partitionKey, splitPartitionKey as splitKey } from './partition-key';

/** What the probe needs to know of the consumer whose partitions it pauses. */
export interface ProbedConsumer {
  /** The kafkajs consumer, once started. */
  consumer(): Consumer | undefined;
  stopping(): boolean;
  isAssigned(topic: string, partition: number): boolean;
  /** The next offset this member would read from what it fetched, or null before a fetch. */
  fetchedNext(topic: string, partition: number): bigint | null;
  /** Nothing but the probe holds this partition paused (no window, byte budget or handover). */
  resumable(topic: string, partition: number): boolean;
}

/**
 * Leaves the partitions of rarely written topics (the retry tiers) out of a consumer's fetches
 * while nothing in them is unread (idle-partitions.ts, README decision 67): every `intervalMs` it
 * reads the topics' end offsets and the group's committed ones, pauses the assigned partitions that
 * are idle and resumes those it paused that have been written to since. Leaves alone what the
 * consumer paused for its own reasons. Fails open: a probe that cannot reach the broker resumes
 * every partition it paused.
 */
export class IdlePartitionProbe {
  private admin?: Admin;
  private timer?: NodeJS.Timeout;
  private probing = false;
  private failing = false;
  /** The partitions this probe paused (`topic:partition`). */
  private readonly paused = new Set<string>();

  constructor(
    private readonly kafka: Kafka,
    private readonly options: { name: string; groupId: string; topics: string[]; intervalMs: number },
    private readonly host: ProbedConsumer,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.options.topics.length === 0) return;
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.timer = setInterval(() => void this.probe(), this.options.intervalMs);
  }

  /** Stops probing; what it paused stays paused (the consumer is stopping). */
  stopProbing(): void {
    clearInterval(this.timer);
  }

  async disconnect(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }

  /** The partitions the probe holds out of fetches now (`topic:partition`). */
  pausedPartitions(): string[] {
    return [...this.paused].sort();
  }

  /**
   * Forgets the partitions it paused that this member no longer holds, and returns them: kafkajs
   * keeps a paused partition paused across rebalances, so the consumer resumes them, should they
   * come back.
   */
  forgetUnassigned(): Array<{ topic: string; partitions: number[] }> {
    const lost: Array<{ topic: string; partitions: number[] }> = [];
    for (const key of this.paused) {
      const { topic, partition } = splitKey(key);
      if (this.host.isAssigned(topic, partition)) continue;
      this.paused.delete(key);
      lost.push({ topic, partitions: [partition] });
    }
    return lost;
  }

  /** One probe: pause what is idle, resume what it paused and has been written to since. */
  async probe(): Promise<void> {
    const consumer = this.host.consumer();
    const admin = this.admin;
    if (!consumer || !admin || this.probing || this.host.stopping()) return;
    this.probing = true;
    try {
      const [ends, commits] = await Promise.all([
        Promise.all(
          this.options.topics.map(async (topic) => ({
            topic,
            partitions: await admin.fetchTopicOffsets(topic),
          })),
        ),
        admin.fetchOffsets({ groupId: this.options.groupId, topics: this.options.topics }),
      ]);
      if (this.host.stopping()) return;
      const committed = new Map<string, bigint>();
      for (const { topic, partitions } of commits) {
        for (const { partition, offset } of partitions)
          committed.set(partitionKey(topic, partition), BigInt(offset));
      }
      const pausedNow = new Set(
        consumer.paused().flatMap(({ topic, partitions }) => partitions.map((p) => partitionKey(topic, p))),
      );
      const toPause: Array<{ topic: string; partitions: number[] }> = [];
      const toResume: Array<{ topic: string; partitions: number[] }> = [];
      for (const { topic, partitions } of ends) {
        for (const { partition, high, low } of partitions) {
          if (!this.host.isAssigned(topic, partition)) continue;
          const key = partitionKey(topic, partition);
          const commit = committed.get(key);
          const idle = isIdle({
            topic,
            partition,
            end: BigInt(high),
            start: BigInt(low),
            committed: commit !== undefined && commit >= 0n ? commit : null,
            fetchedNext: this.host.fetchedNext(topic, partition),
          });
          if (idle) {
            if (!pausedNow.has(key)) toPause.push({ topic, partitions: [partition] });
            this.paused.add(key);
          } else if (this.paused.delete(key) && pausedNow.has(key) && this.host.resumable(topic, partition)) {
            toResume.push({ topic, partitions: [partition] });
          }
        }
      }
      setPaused(consumer, toPause, true);
      setPaused(consumer, toResume, false);
      this.failing = false;
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(
          { consumer: this.options.name, err: error },
          'idle partition probe failed; reading every partition until it works again',
        );
      }
      this.failing = true;
      this.resumeAll(consumer);
    } finally {
      this.probing = false;
    }
  }

  /** Resumes every partition it paused (that nothing else holds paused). */
  private resumeAll(consumer: Consumer): void {
    const resume = [...this.paused]
      .map(splitKey)
      .filter(({ topic, partition }) => this.host.resumable(topic, partition));
    this.paused.clear();
    setPaused(
      consumer,
      resume.map(({ topic, partition }) => ({ topic, partitions: [partition] })),
      false,
    );
  }
}
