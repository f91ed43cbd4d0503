import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { FinishedElsewhere } from './finished-offsets';

/** How long the first batch of a partition waits for the read; it holds that partition alone. */
const READ_TIMEOUT_MS = 5_000;

/**
 * Reads a group's committed offsets with their metadata, the first time each partition of a new
 * assignment is read (README decision 92): one request per topic and generation, on an admin
 * client of its own, opened on first use. Unreadable within the timeout (the broker away), nothing
 * is known finished, and every record is handled as before.
 */
export class CommittedReader {
  private admin?: Promise<Admin>;
  private readonly reads = new Map<string, Promise<Map<number, FinishedElsewhere>>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly logger: Logger,
    private readonly timeoutMs = READ_TIMEOUT_MS,
  ) {}

  async finished(generation: number, topic: string, partition: number): Promise<FinishedElsewhere> {
    const key = `${generation}:${topic}`;
    let read = this.reads.get(key);
    if (!read) {
      // An earlier generation's reads are not needed again.
      for (const earlier of this.reads.keys())
        if (!earlier.startsWith(`${generation}:`)) this.reads.delete(earlier);
      read = this.read(topic);
      this.reads.set(key, read);
    }
    return (await read).get(partition) ?? FinishedElsewhere.none;
  }

  private async read(topic: string): Promise<Map<number, FinishedElsewhere>> {
    const byPartition = new Map<number, FinishedElsewhere>();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      });
      this.admin ??= this.connect();
      const admin = await Promise.race([this.admin, timeout]);
      const [committed] = await Promise.race([
        admin.fetchOffsets({ groupId: this.groupId, topics: [topic] }),
        timeout,
      ]);
      for (const { partition, offset, metadata } of committed?.partitions ?? []) {
        byPartition.set(partition, FinishedElsewhere.fromCommit(offset, metadata));
      }
    } catch (error) {
      this.logger.warn(
        { err: error, groupId: this.groupId, topic },
        'could not read the committed offsets; records finished past them are handled again',
      );
    } finally {
      clearTimeout(timer);
    }
    return byPartition;
  }

  private async connect(): Promise<Admin> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
    } catch (error) {
      this.admin = undefined;
      throw error;
    }
    return admin;
  }

  async disconnect(): Promise<void> {
    const admin = await this.admin?.catch(() => undefined);
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }
}
