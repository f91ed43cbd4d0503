import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { OffsetWatermark } from '../domain/offset-watermark';
import { RecordWithdrawn, type ConsumedBatch, type ConsumedRecord } from '../domain/records';
import { retryUntilDone } from '../domain/retry-loop';
import { isTransientError } from '../domain/transient';
import { headersToRecord } from './headers';
import { coPartitionedAssigner } from './co-partitioned-assigner';
import { exitOnFatalCrash } from './consumer-crash';
import { IdlePartitionProbe, type ProbedConsumer } from './idle-partition-probe';
import { splitPartitionKey as splitKey } from './idle-partitions';

export type { ConsumedBatch, ConsumedRecord } from '../domain/records';

interface SpecBase {
  name: string;
  groupId: string;
  topics: string[];
  /** Most records of one partition handed out and not yet finished; the partition pauses beyond it. */
  partitionWindow: number;
  /** How long a fetch waits for data (kafkajs maxWaitTimeInMs); 100 ms by default. */
  maxWaitMs?: number;
  /** Most bytes one fetch returns per partition; 512 KiB by default. */
  maxBytesPerPartition?: number;
  /**
   * Most bytes of records (values and keys) the consumer holds unfinished, over all its partitions;
   * one partition at most a quarter of it. A partition past its share, or any partition while the
   * whole is spent, pauses until it drains (it always keeps one record going, however large).
   */
  bufferBytes?: number;
  /**
   * A record the handler keeps failing on for a reason that is not transient (a bug, data it cannot
   * take): take it out of the way (dead-letter it, or skip it) so its partition moves on. Without
   * this the record is retried until the outcome is durable, however long that takes.
   */
  isolate?(record: ConsumedRecord, error: unknown): Promise<void>;
  /** Told each time a partition pauses, and why. */
  onPause?(reason: 'window' | 'bytes' | 'deferred'): void;
  /**
   * Assign the same partition indexes of every topic to one member, keeping what members own
   * (co-partitioned-assigner.ts): the member owning index p owns every record keyed to p.
   */
  coPartitioned?: boolean;
  /** Co-partitioned consumers: how partition indexes move between members cleanly. */
  handover?: PartitionHandover;
  /**
   * Topics written rarely (the retry tiers): each of their partitions is left out of fetches
   * (paused) while nothing in it is unread, and their end offsets are probed every `intervalMs`
   * to resume the ones written to (idle-partition-probe.ts).
   */
  idleProbe?: { topics: string[]; intervalMs: number };
}

/**
 * Moving a partition index between members without two of them working on it at once: the member
 * that lost it releases it once its work in flight there has finished; the one that gained it does
 * not start it until then (or until the previous owner must be gone).
 */
export interface PartitionHandover {
  /**
   * Resolves when this member may start the indexes it gained; they stay paused until then. Stops
   * waiting for an index once `stillOwned` says a later rebalance took it away.
   */
  acquire(indexes: number[], stillOwned: (index: number) => boolean): Promise<void>;
  /** This member lost `indexes` and its work there has finished (or been abandoned). */
  release(indexes: number[]): Promise<void>;
}

/**
 * Each record is handed out on its own and may finish in any order (one lane per endpoint): the
 * committed offset follows the lowest unfinished record.
 */
export interface RecordSpec extends SpecBase {
  /** Resolves once the record's outcome is durable (delivered, or handed to a retry tier or the DLQ).
   *  A rejection means the outcome could not be made durable: the record is handed back later. */
  handle(record: ConsumedRecord): Promise<void>;
  /** For retry tiers: the record may not be handled before this time (ms epoch). */
  dueAtMs?(record: ConsumedRecord): number | null;
  /** Most records of one partition held in memory until due; the partition pauses beyond it. */
  deferLimit?: number;
}

/**
 * Each fetched batch is handed out whole, one batch of a partition at a time and in order, before
 * the partition's next fetch (the fan-out: the tasks of one batch are produced before those of the
 * next).
 */
export interface BatchSpec extends SpecBase {
  /** Resolves once the batch's outcome is durable; a rejection hands the batch back later. */
  handleBatch(batch: ConsumedBatch): Promise<void>;
}

export type WatermarkConsumerSpec = RecordSpec | BatchSpec;

interface PartitionState {
  watermark: OffsetWatermark;
  /** The last offset of the newest batch handed out whole, control records included. */
  fetchedThrough: bigint | null;
  committed: bigint | null;
  generation: number;
  paused: boolean;
  resumeTimer?: NodeJS.Timeout;
  /** Bytes of this partition's unfinished records, those waiting for their due time apart. */
  bytes: number;
  deferredBytes: number;
  /** Its records' handlers still running (waited for before a lost partition is released). */
  pending: Set<Promise<void>>;
  /** Records fetched before their due time (retry tiers) and their sizes, dropped on rebalance and stop. */
  deferred: Map<NodeJS.Timeout, number>;
}

const COMMIT_INTERVAL_MS = 100;
const BATCH_WORKERS = 4;
const DEFAULT_DEFER_LIMIT = 250;
/** Bytes of early records one partition holds (and at least one record, however large). */
const DEFER_BYTES = 256 * 1024;
const HANDLER_RETRY_MAX_MS = 5_000;
/** Failures of a record that are not transient, in a row, before it is isolated (spec.isolate). */
const PERMANENT_FAILURES_BEFORE_ISOLATING = 3;
/** While a batch is handled (it can wait out a broker restart), the member keeps its session. */
const HEARTBEAT_WHILE_HANDLING_MS = 1_000;

/**
 * A kafkajs consumer that hands each record to an asynchronous handler and commits offsets only up
 * to the lowest unfinished record (a watermark), so eachBatch returns quickly (heartbeats go on),
 * a crash re-handles at most the in-flight window, and a rebalance never commits past unfinished work.
 */
export class WatermarkConsumer {
  private consumer?: Consumer;
  private partitions = new Map<string, PartitionState>();
  private generation = 0;
  /** The latest assignment: partitions per topic. */
  private assigned = new Map<string, number[]>();
  /** Partitions paused until their handover completes. */
  private readonly handingOver = new Set<string>();
  private commitTimer?: NodeJS.Timeout;
  private committing = false;
  private stopping = false;
  private readonly pending = new Set<Promise<void>>();
  /** Bytes of unfinished records over all partitions (spec.bufferBytes). */
  private bufferedBytes = 0;
  /**
   * Early records held per partition. Every tier partition may hold this many at once (7 tiers ×
   * the delivery partitions by default), all inside the service's heap cap: 250 records of ~1.5 KB
   * over 84 partitions is about 30 MB at worst.
   */
  private readonly deferLimit: number;
  /** Pauses the idle partitions of spec.idleProbe's topics. */
  private idleProbe?: IdlePartitionProbe;

  constructor(
    private readonly kafka: Kafka,
    private readonly spec: WatermarkConsumerSpec,
    private readonly logger: Logger,
  ) {
    this.deferLimit = Math.min(
      spec.partitionWindow,
      ('deferLimit' in spec ? spec.deferLimit : undefined) ?? DEFAULT_DEFER_LIMIT,
    );
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.spec.groupId,
      // A killed member's partitions move after this long (Kafka's minimum is 6 s).
      sessionTimeout: 10_000,
      heartbeatInterval: 2_000,
      maxWaitTimeInMs: this.spec.maxWaitMs ?? 100,
      // kafkajs decodes a whole fetch response into objects; the defaults (10 MiB, 1 MiB per
      // partition) times ten consumers per process were most of the peak RSS (README, Section B).
      maxBytes: 2 * 1024 * 1024,
      maxBytesPerPartition: this.spec.maxBytesPerPartition ?? 512 * 1024,
      allowAutoTopicCreation: false,
      ...(this.spec.coPartitioned
        ? { partitionAssigners: [coPartitionedAssigner(() => this.ownedIndexes())] }
        : {}),
    });
    this.consumer = consumer;
    exitOnFatalCrash(consumer, this.logger, this.spec.name);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      this.onAssignment(consumer, payload.memberAssignment),
    );
    // A batch holding only transaction markers (written by any transactional producer of the topic)
    // never reaches eachBatch; remember its end so the committed offset can move past the markers.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.batchSize !== 0 || !this.isAssigned(payload.topic, payload.partition)) return;
      this.partitionState(payload.topic, payload.partition).fetchedThrough = BigInt(payload.lastOffset);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.spec.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // eachBatch only hands records out and returns, so a few workers keep up with any number of
      // partitions. kafkajs wakes every worker on every fetch: 64 of them, on the hundreds of
      // fetches a second a busy consumer makes, were a tenth of all allocation and, through the
      // garbage collector, much of the p99 at 1,000 events/s (README, decision 19).
      partitionsConsumedConcurrently: BATCH_WORKERS,
      eachBatch: (payload) => this.onBatch(payload),
    });
    this.commitTimer = setInterval(() => void this.commit(), COMMIT_INTERVAL_MS);
    const probe = this.spec.idleProbe;
    if (probe) {
      this.idleProbe = new IdlePartitionProbe(
        this.kafka,
        { name: this.spec.name, groupId: this.spec.groupId, ...probe },
        this.probedConsumer(),
        this.logger,
      );
      await this.idleProbe.start();
    }
  }

  /** This consumer as the idle probe sees it. */
  private probedConsumer(): ProbedConsumer {
    return {
      consumer: () => this.consumer,
      stopping: () => this.stopping,
      isAssigned: (topic, partition) => this.isAssigned(topic, partition),
      fetchedNext: (topic, partition) => {
        const fetchedThrough = this.partitions.get(`${topic}:${partition}`)?.fetchedThrough;
        return fetchedThrough != null ? fetchedThrough + 1n : null;
      },
      resumable: (topic, partition) =>
        this.isAssigned(topic, partition) &&
        !this.partitions.get(`${topic}:${partition}`)?.paused &&
        !this.handingOver.has(String(partition)) &&
        !this.stopping,
    };
  }

  /**
   * A new generation. A partition this member keeps keeps its state: records in flight there go on
   * and count, and kafkajs re-reads from the committed offset only what is already tracked, which is
   * skipped. A partition it lost is dropped: records in flight there finish but commit nothing, and
   * records waiting for their due time are dropped (the new owner reads them again from the commit).
   */
  private onAssignment(consumer: Consumer, memberAssignment: Record<string, number[]>): void {
    const before = this.ownedIndexes();
    this.generation += 1;
    this.assigned = new Map(Object.entries(memberAssignment));
    const kept = new Map<string, PartitionState>();
    const lostWork: Array<Promise<void>> = [];
    const paused: Array<{ topic: string; partitions: number[] }> = [];
    for (const [key, state] of this.partitions) {
      const { topic, partition } = splitKey(key);
      if (this.assigned.get(topic)?.includes(partition) && !this.stopping) {
        state.generation = this.generation;
        kept.set(key, state);
        continue;
      }
      clearTimeout(state.resumeTimer);
      this.dropDeferred(state);
      lostWork.push(...state.pending);
      // kafkajs keeps a paused partition paused across rebalances: resume it, should it come back.
      if (state.paused) paused.push({ topic, partitions: [partition] });
    }
    this.partitions = kept;
    // Likewise a partition the idle probe paused and this member lost.
    if (this.idleProbe) paused.push(...this.idleProbe.forgetUnassigned());
    if (paused.length && !this.stopping) consumer.resume(paused);
    this.logger.info({ consumer: this.spec.name, assignment: memberAssignment }, 'partitions assigned');
    if (this.spec.handover) this.handOver(consumer, before, this.ownedIndexes(), lostWork);
  }

  /** Pauses the indexes gained until the handover allows them; releases the lost ones once idle. */
  private handOver(
    consumer: Consumer,
    before: number[],
    now: number[],
    lostWork: Array<Promise<void>>,
  ): void {
    const handover = this.spec.handover!;
    const gained = now.filter((index) => !before.includes(index));
    const lost = before.filter((index) => !now.includes(index));
    if (gained.length > 0) {
      consumer.pause(this.spec.topics.map((topic) => ({ topic, partitions: gained })));
      for (const index of gained) this.handingOver.add(String(index));
      const owned = (index: number) => this.ownedIndexes().includes(index) && !this.stopping;
      void handover
        .acquire(gained, owned)
        .catch((error: unknown) =>
          this.logger.warn(
            { consumer: this.spec.name, err: error, gained },
            'handover failed; starting anyway',
          ),
        )
        .then(() => {
          for (const index of gained) this.handingOver.delete(String(index));
          // A later rebalance may have taken some away meanwhile: start the rest, give those back.
          const kept = gained.filter(owned);
          if (kept.length > 0)
            consumer.resume(this.spec.topics.map((topic) => ({ topic, partitions: kept })));
          const gone = gained.filter((index) => !owned(index));
          if (gone.length > 0) return handover.release(gone);
        })
        .catch((error: unknown) =>
          this.logger.warn({ consumer: this.spec.name, err: error }, 'could not release partitions'),
        );
    }
    if (lost.length > 0) {
      void Promise.allSettled(lostWork)
        // Not one a later rebalance gave back to this member meanwhile: it works on that one again.
        .then(() => handover.release(lost.filter((index) => !this.ownedIndexes().includes(index))))
        .catch((error: unknown) =>
          this.logger.warn({ consumer: this.spec.name, err: error, lost }, 'could not release partitions'),
        );
    }
  }

  private isAssigned(topic: string, partition: number): boolean {
    return this.assigned.get(topic)?.includes(partition) ?? false;
  }

  /** The partition indexes this member is assigned (of its first topic; co-partitioned: of every topic). */
  ownedIndexes(): number[] {
    return [...(this.assigned.get(this.spec.topics[0]) ?? [])];
  }

  /** The assigned indexes whose handover has completed: this member works on them now. */
  activeIndexes(): number[] {
    if (this.stopping) return [];
    return this.ownedIndexes().filter((index) => !this.handingOver.has(String(index)));
  }

  /** The partitions the idle probe holds out of fetches now (`topic:partition`). */
  idlePartitions(): string[] {
    return this.idleProbe?.pausedPartitions() ?? [];
  }

  /** Number of records handed out and not yet finished, over all partitions. */
  inFlight(): number {
    let total = 0;
    for (const state of this.partitions.values()) total += state.watermark.inFlight();
    return total;
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    // A batch fetched before a rebalance took its partition away reaches here after it; kafkajs'
    // isStale() does not say so. Its records are the new owner's now.
    if (!this.isAssigned(payload.batch.topic, payload.batch.partition)) return;
    if ('handleBatch' in this.spec) return this.onWholeBatch(payload, this.spec);
    const { batch, resolveOffset, heartbeat, isRunning, isStale, pause } = payload;
    const spec = this.spec;
    const state = this.partitionState(batch.topic, batch.partition);
    const stateKey = `${batch.topic}:${batch.partition}`;
    if (this.handingOver.has(String(batch.partition))) {
      // Fetched before the pause took effect: read again once the handover completes.
      pause();
      return;
    }
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || this.stopping) return;
      if (state.watermark.inFlight() >= this.spec.partitionWindow) {
        this.pauseUntilDrained(batch.topic, batch.partition, state, pause, 'window');
        return;
      }
      if (state.watermark.hasTracked(message.offset)) {
        // Read again after a rebalance this member kept the partition through: already in hand.
        resolveOffset(message.offset);
        continue;
      }
      const size = (message.value?.length ?? 0) + (message.key?.length ?? 0);
      const record = toRecord(batch.topic, batch.partition, message);
      const dueAt = spec.dueAtMs?.(record) ?? null;
      const early = dueAt !== null && dueAt > Date.now();
      if (early) {
        // Records waiting for their due time have a bound of their own (count and bytes per
        // partition), so a tier's waiting records never starve first attempts of the budget.
        if (
          state.deferred.size >= this.deferLimit ||
          (state.deferred.size > 0 && state.deferredBytes + size > DEFER_BYTES)
        ) {
          this.pauseUntilDrained(batch.topic, batch.partition, state, pause, 'deferred');
          return;
        }
      } else if (state.watermark.inFlight() > state.deferred.size && this.overBudget(state, size)) {
        this.pauseUntilDrained(batch.topic, batch.partition, state, pause, 'bytes');
        return;
      }
      const owned = ownCopy(record);
      owned.stillOwned = () => this.partitions.get(stateKey) === state && !this.stopping;
      state.watermark.track(owned.offset);
      if (early) {
        this.defer(owned, state, dueAt, size);
      } else {
        this.hold(state, size);
        this.dispatch(owned, state, size);
      }
      resolveOffset(message.offset);
    }
    state.fetchedThrough = BigInt(batch.lastOffset());
    await heartbeat();
  }

  /**
   * Batch mode: the batch is handled before this partition's next fetch, as kafkajs' own eachBatch
   * would, with heartbeats going on while it waits. Handing it off and fetching on made the fan-out
   * fetch and produce in more, smaller requests (README decision 29). Its offsets complete once the
   * handler has made its outcome durable; a batch whose partition moved to another member
   * meanwhile completes nothing: the new owner reads it again.
   */
  private async onWholeBatch(
    { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
    spec: BatchSpec,
  ): Promise<void> {
    if (!isRunning() || isStale() || this.stopping) return;
    const state = this.partitionState(batch.topic, batch.partition);
    // After a rebalance this member kept the partition through, kafkajs reads again from the
    // committed offset: what is tracked already was handled.
    const fresh = batch.messages.filter((message) => !state.watermark.hasTracked(message.offset));
    if (fresh.length > 0) {
      const records = fresh.map((message) => toRecord(batch.topic, batch.partition, message));
      for (const record of records) state.watermark.track(record.offset);
      const consumed: ConsumedBatch = { topic: batch.topic, partition: batch.partition, records };
      const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_WHILE_HANDLING_MS);
      const work = this.untilDurable(
        () => spec.handleBatch(consumed),
        records[0],
        () => this.oneByOne(spec, consumed),
      );
      this.pending.add(work);
      try {
        await work;
      } catch {
        return; // Only while stopping: the batch stays uncommitted and is read again.
      } finally {
        clearInterval(beat);
        this.pending.delete(work);
      }
      if (state.generation !== this.generation || isStale()) return;
      for (const record of records) state.watermark.complete(record.offset);
      resolveOffset(records[records.length - 1].offset);
      // Commit now, in the gap before the next fetch, rather than on the timer: a commit sent while a
      // fetch waits on the same broker connection waits behind it, and the fetch after behind it.
      void this.commit();
    }
    state.fetchedThrough = BigInt(batch.lastOffset());
    await heartbeat();
  }

  private dispatch(record: ConsumedRecord, state: PartitionState, size: number): void {
    const spec = this.spec as RecordSpec;
    const isolate = spec.isolate && ((error: unknown) => spec.isolate!(record, error));
    const work = this.untilDurable(() => spec.handle(record), record, isolate).then(
      () => {
        if (state.generation === this.generation) state.watermark.complete(record.offset);
      },
      // Withdrawn (its partition moved, or this member stops), or given up while stopping: the
      // record stays unfinished, so no commit passes it, and the partition's next owner reads it.
      () => undefined,
    );
    this.pending.add(work);
    state.pending.add(work);
    void work.finally(() => {
      this.pending.delete(work);
      state.pending.delete(work);
      this.release(state, size);
    });
  }

  /**
   * Batch mode, after the batch kept failing for a reason that is not transient: its records one at
   * a time, in order, so only the one at fault is isolated and the rest are handled.
   */
  private async oneByOne(spec: BatchSpec, batch: ConsumedBatch): Promise<void> {
    for (const record of batch.records) {
      const isolate = spec.isolate && ((error: unknown) => spec.isolate!(record, error));
      await this.untilDurable(() => spec.handleBatch({ ...batch, records: [record] }), record, isolate);
    }
  }

  private overBudget(state: PartitionState, size: number): boolean {
    const budget = this.spec.bufferBytes;
    if (budget === undefined) return false;
    return state.bytes + size > budget / 4 || this.bufferedBytes + size > budget;
  }

  private hold(state: PartitionState, size: number): void {
    state.bytes += size;
    this.bufferedBytes += size;
  }

  private release(state: PartitionState, size: number): void {
    state.bytes -= size;
    this.bufferedBytes -= size;
  }

  get name(): string {
    return this.spec.name;
  }

  /** Bytes of records this consumer holds unfinished. */
  buffered(): number {
    return this.bufferedBytes;
  }

  /**
   * Retries the handler until the outcome is durable; gives up only when the consumer stops. With
   * `isolate`, a handler that fails the same non-transient way a few times in a row is handed to it.
   */
  private untilDurable(
    work: () => Promise<void>,
    first: ConsumedRecord,
    isolate?: (error: unknown) => Promise<void>,
  ): Promise<void> {
    let permanentFailures = 0;
    const attempt = async (): Promise<void> => {
      try {
        await work();
      } catch (error) {
        if (error instanceof RecordWithdrawn) throw error;
        if (!isolate || isTransientError(error)) {
          permanentFailures = 0;
          throw error;
        }
        permanentFailures += 1;
        if (permanentFailures < PERMANENT_FAILURES_BEFORE_ISOLATING) throw error;
        this.logger.error(
          {
            consumer: this.spec.name,
            topic: first.topic,
            partition: first.partition,
            offset: first.offset,
            err: error,
          },
          'handler keeps failing on this record for a reason that is not transient; isolating it',
        );
        await isolate(error);
      }
    };
    return retryUntilDone(attempt, {
      baseDelayMs: 100,
      maxDelayMs: HANDLER_RETRY_MAX_MS,
      // A withdrawn record is not retried: it is not this member's any more.
      stopped: (error) => this.stopping || error instanceof RecordWithdrawn,
      onRetry: (error, waitMs) =>
        this.logger.warn(
          {
            consumer: this.spec.name,
            topic: first.topic,
            partition: first.partition,
            offset: first.offset,
            err: error,
          },
          `record could not be made durable; handing it back in ${waitMs} ms`,
        ),
    });
  }

  private pauseUntilDrained(
    topic: string,
    partition: number,
    state: PartitionState,
    pause: () => () => void,
    reason: 'window' | 'bytes' | 'deferred',
  ) {
    if (state.paused) return;
    state.paused = true;
    this.spec.onPause?.(reason);
    const resume = pause();
    const budget = this.spec.bufferBytes ?? Number.POSITIVE_INFINITY;
    const check = () => {
      if (state.generation !== this.generation || this.stopping) return;
      // A partition with nothing in flight always resumes: it may take one record at a time while
      // others hold the whole budget.
      const bytesDrained =
        state.bytes === 0 || (state.bytes <= budget / 8 && this.bufferedBytes <= (budget * 3) / 4);
      const drained =
        state.watermark.inFlight() < this.spec.partitionWindow / 2 &&
        state.deferred.size < this.deferLimit / 2 &&
        bytesDrained;
      if (drained) {
        state.paused = false;
        resume();
      } else {
        state.resumeTimer = setTimeout(check, 20);
      }
    };
    state.resumeTimer = setTimeout(check, 20);
    this.logger.debug(
      { consumer: this.spec.name, topic, partition, reason },
      'partition window full; paused',
    );
  }

  /**
   * Retry tiers: a record not yet due waits in memory, counted in the partition's window, and is
   * handled at its own due time; nothing early. Pausing the partition on it instead meant that
   * kafkajs dropped the rest of the fetched batch and fetched it again on resume, once per
   * jittered due time: up to a whole fetch decoded again for every record or two handled.
   */
  private defer(record: ConsumedRecord, state: PartitionState, dueAt: number, size: number): void {
    state.deferredBytes += size;
    // +1: a timer may fire up to a millisecond before Date.now() reaches the due time.
    const timer = setTimeout(
      () => {
        state.deferred.delete(timer);
        state.deferredBytes -= size;
        if (state.generation !== this.generation || this.stopping) return;
        this.hold(state, size);
        this.dispatch(record, state, size);
      },
      dueAt - Date.now() + 1,
    );
    state.deferred.set(timer, size);
  }

  /** Deferred records are dropped unhandled and uncommitted: their partition's next owner fetches them again. */
  private dropDeferred(state: PartitionState): void {
    for (const timer of state.deferred.keys()) clearTimeout(timer);
    state.deferred.clear();
    state.deferredBytes = 0;
  }

  private partitionState(topic: string, partition: number): PartitionState {
    const key = `${topic}:${partition}`;
    let state = this.partitions.get(key);
    if (!state) {
      state = {
        watermark: new OffsetWatermark(),
        fetchedThrough: null,
        committed: null,
        generation: this.generation,
        paused: false,
        bytes: 0,
        deferredBytes: 0,
        pending: new Set(),
        deferred: new Map(),
      };
      this.partitions.set(key, state);
    }
    return state;
  }

  private async commit(): Promise<void> {
    if (this.committing || !this.consumer) return;
    this.committing = true;
    try {
      const offsets: Array<{ topic: string; partition: number; offset: string }> = [];
      for (const [key, state] of this.partitions) {
        const offset = nextCommit(state);
        if (offset === null) continue;
        const separator = key.lastIndexOf(':');
        offsets.push({ topic: key.slice(0, separator), partition: Number(key.slice(separator + 1)), offset });
      }
      if (offsets.length === 0) return;
      const generation = this.generation;
      await this.consumer.commitOffsets(offsets);
      if (generation !== this.generation) return;
      for (const { topic, partition, offset } of offsets) {
        const state = this.partitions.get(`${topic}:${partition}`);
        state?.watermark.markCommitted(offset);
        if (state) state.committed = BigInt(offset);
      }
    } catch (error) {
      // A commit lost to a rebalance is safe: the records are handled again by the new owner.
      this.logger.warn({ consumer: this.spec.name, err: error }, 'offset commit failed; will retry');
    } finally {
      this.committing = false;
    }
  }

  /** Stops fetching, waits for in-flight records up to the deadline, commits what finished. */
  async stop(deadlineMs: number): Promise<void> {
    if (!this.consumer) return;
    this.stopping = true;
    this.idleProbe?.stopProbing();
    this.consumer.pause(this.spec.topics.map((topic) => ({ topic })));
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
    await Promise.race([Promise.allSettled([...this.pending]), deadline]);
    clearInterval(this.commitTimer);
    for (const state of this.partitions.values()) {
      clearTimeout(state.resumeTimer);
      this.dropDeferred(state);
    }
    this.committing = false;
    await this.commit();
    // Work abandoned at the deadline may still be running: its partitions are not released, and
    // the next owner takes them when this process's heartbeat is gone or the handover grace ends.
    const owned = this.ownedIndexes();
    if (this.spec.handover && owned.length > 0 && this.pending.size === 0) {
      await this.spec.handover
        .release(owned)
        .catch((error: unknown) =>
          this.logger.warn({ consumer: this.spec.name, err: error }, 'could not release partitions'),
        );
    }
    await this.consumer.disconnect();
    await this.idleProbe?.disconnect();
    this.logger.info({ consumer: this.spec.name, abandoned: this.pending.size }, 'consumer stopped');
  }
}

/** Up to the lowest unfinished record; past trailing transaction markers once nothing is in flight. */
function nextCommit(state: PartitionState): string | null {
  const finished = state.watermark.committable();
  let next = finished === null ? null : BigInt(finished);
  if (state.watermark.inFlight() === 0 && state.fetchedThrough !== null) {
    const tail = state.fetchedThrough + 1n;
    if (next === null || tail > next) next = tail;
  }
  if (next === null || (state.committed !== null && next <= state.committed)) return null;
  return next.toString();
}

/**
 * A record handed to a handler that may keep it a while (in a lane, until due): only its own bytes,
 * not the fetch response its value and key are slices of, which would otherwise stay in memory
 * as long as the record does and make the byte budget a fiction.
 */
function ownCopy(record: ConsumedRecord): ConsumedRecord {
  return {
    ...record,
    value: record.value && Buffer.from(record.value),
    rawKey: undefined,
    rawHeaders: undefined,
  };
}

export function toRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    rawKey: message.key,
    value: message.value,
    headers: headersToRecord(message.headers),
    rawHeaders: message.headers,
    timestampMs: Number(message.timestamp),
  };
}
