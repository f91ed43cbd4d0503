import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { ConsumedRecord } from '../domain/records';
import { coPartitionedAssigner } from './co-partitioned-assigner';
import { CommittedReader } from './committed-reader';
import { ownCopy, toRecord } from './consumed-record';
import { exitOnFatalCrash } from './consumer-crash';
import { setPaused } from './kafkajs-pauses';
import type { RecordSpec, WatermarkConsumerSpec } from './consumer-spec';
import { IdlePartitionProbe, type ProbedConsumer } from './idle-partition-probe';
import { partitionKey } from './partition-key';
import { OffsetCommitter } from './offset-committer';
import { ByteBudget, dropDeferred, newPartitionState, regroup, type PartitionState } from './partition-state';
import { handOver } from './partition-handover';
import { handleUntilDurable, type DurableContext } from './until-durable';
import { handleWholeBatch, type WholeBatchHost } from './whole-batch';

export type { ConsumedBatch, ConsumedRecord } from '../domain/records';
export type { BatchSpec, PartitionHandover, RecordSpec, WatermarkConsumerSpec } from './consumer-spec';

const COMMIT_INTERVAL_MS = 100;
const BATCH_WORKERS = 4;
const DEFAULT_DEFER_LIMIT = 250;
/** Bytes of early records one partition holds (and at least one record, however large). */
const DEFER_BYTES = 256 * 1024;
/**
 * How long a rebalance waits for a member to join again before dropping it (kafkajs' default, made
 * explicit). A batch gives up at its next write or failure once a rebalance begins (whole-batch.ts),
 * so only a write already in flight can hold a member out this long (README decision 99).
 */
const REBALANCE_TIMEOUT_MS = 60_000;

/**
 * A kafkajs consumer that hands each record to an asynchronous handler and commits offsets only up
 * to the lowest unfinished record (a watermark), so eachBatch returns quickly (heartbeats go on),
 * a crash re-handles at most the in-flight window, and a rebalance never commits past unfinished work.
 */
export class WatermarkConsumer {
  private consumer?: Consumer;
  private partitions = new Map<string, PartitionState>();
  private generation = 0;
  /** A rebalance has begun and no join has ended it yet (see WholeBatchHost.generationEnding). */
  private generationEnding = false;
  /** The latest assignment: partitions per topic. */
  private assigned = new Map<string, number[]>();
  /** Partition indexes moving between members (spec.handover), paused until theirs completes (handOver). */
  private readonly handingOver = new Map<number, symbol>();
  /** Partition indexes this member lost and has not yet released (spec.handover): see handOver. */
  private readonly releasing = new Map<number, Promise<void>>();
  private stopping = false;
  private readonly pending = new Set<Promise<void>>();
  /** Bytes of unfinished records over all partitions (spec.bufferBytes). */
  private readonly bytes: ByteBudget;
  /** Early records held per partition: at most 250 of ~1.5 KB in each of 84 tier partitions, 30 MB. */
  private readonly deferLimit: number;
  /** Pauses the idle partitions of spec.idleProbe's topics. */
  private idleProbe?: IdlePartitionProbe;
  /** What the handler's retries are told of this consumer. */
  private readonly durable: DurableContext;
  private readonly committer: OffsetCommitter;
  private readonly committedReader: CommittedReader;
  /** What batch mode (whole-batch.ts) reads and uses of this consumer. */
  private readonly wholeBatchHost: WholeBatchHost;

  constructor(
    private readonly kafka: Kafka,
    private readonly spec: WatermarkConsumerSpec,
    private readonly logger: Logger,
  ) {
    this.bytes = new ByteBudget(spec.bufferBytes);
    this.durable = { consumer: spec.name, logger, stopping: () => this.stopping };
    this.committer = new OffsetCommitter(
      {
        name: spec.name,
        consumer: () => this.consumer,
        partitions: () => this.partitions,
        generation: () => this.generation,
      },
      spec.commitIntervalMs ?? COMMIT_INTERVAL_MS,
      logger,
    );
    this.committedReader = new CommittedReader(spec.committedOffsets, logger);
    this.wholeBatchHost = {
      stopping: () => this.stopping,
      generation: () => this.generation,
      generationEnding: () => this.generationEnding,
      markGenerationEnding: () => (this.generationEnding = true),
      isAssigned: (topic, partition) => this.isAssigned(topic, partition),
      partitionState: (topic, partition) => this.partitionState(topic, partition),
      partitions: () => this.partitions,
      untilDurable: (work, first, isolate) => this.untilDurable(work, first, isolate),
      pending: this.pending,
      committer: this.committer,
    };
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
      rebalanceTimeout: this.spec.rebalanceTimeoutMs ?? REBALANCE_TIMEOUT_MS,
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
    // A retriable crash: kafkajs stops the runner, leaves the group (another member takes the
    // partitions) and joins again after a pause (STOP, then CRASH). Meanwhile this member owns nothing.
    consumer.on(consumer.events.STOP, () => this.onLeft(consumer));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) this.onLeft(consumer);
    });
    consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => this.committer.committed(payload.topics));
    // kafkajs says a rebalance has begun just before it joins again. A commit sent now reaches the
    // coordinator first (the join asks which broker that is before it is sent), which takes commits of
    // the ending generation until every member has joined: the next owner of a partition this member
    // loses starts after what it finished, not up to a commit interval before (README decision 90).
    consumer.on(consumer.events.REBALANCING, () => (this.generationEnding = true));
    if (this.spec.commitOnRebalance ?? true) {
      consumer.on(consumer.events.REBALANCING, () => void this.committer.commit({ again: true }));
    }
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
    this.committer.startTimer();
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
        const fetchedThrough = this.partitions.get(partitionKey(topic, partition))?.fetchedThrough;
        return fetchedThrough != null ? fetchedThrough + 1n : null;
      },
      resumable: (topic, partition) =>
        this.isAssigned(topic, partition) &&
        !this.partitions.get(partitionKey(topic, partition))?.paused &&
        !this.handingOver.has(partition) &&
        !this.stopping,
    };
  }

  /**
   * A new generation (see regroup, partition-state.ts). kafkajs re-reads a kept partition from its
   * committed offset: what is already tracked there is skipped. Records in flight on a lost
   * partition finish; with a handover, they are committed before its release (decision 93). While
   * stopping, every partition counts as lost.
   */
  private onAssignment(consumer: Consumer, memberAssignment: Record<string, number[]>): void {
    this.generationEnding = false;
    this.reassign(consumer, memberAssignment);
    this.logger.info({ consumer: this.spec.name, assignment: memberAssignment }, 'partitions assigned');
  }

  /**
   * kafkajs has left the group after a crash and will join again. Until then another member may
   * take this one's partitions, and with a handover it starts them once this one releases them (or
   * at the grace deadline): an assignment of nothing. Records queued in lanes are withdrawn, those
   * in flight finish, are committed and the partitions released; the next join gains them through
   * the handover as any member would (README decision 99). Consumers without a handover keep their
   * state as before: no member waits for them, and a partition kept skips the records in hand.
   */
  private onLeft(consumer: Consumer): void {
    if (this.stopping || !this.spec.handover || this.assigned.size === 0) return;
    this.reassign(consumer, {});
    this.logger.warn(
      { consumer: this.spec.name },
      'left the consumer group after a crash; its partitions are given up until it joins again',
    );
  }

  private reassign(consumer: Consumer, memberAssignment: Record<string, number[]>): void {
    const before = this.ownedIndexes();
    this.generation += 1;
    this.assigned = new Map(Object.entries(memberAssignment));
    const { kept, lost, lostWork, pausedLost } = regroup(
      this.partitions,
      (topic, partition) => this.isAssigned(topic, partition) && !this.stopping,
      this.generation,
    );
    this.partitions = kept;
    // With the lost partitions this member paused, those the idle probe paused.
    const paused = [...pausedLost, ...(this.idleProbe?.forgetUnassigned() ?? [])];
    // After a crash there is no group to resume them on, and the next starts with nothing paused.
    if (!this.stopping) setPaused(consumer, paused, false);
    if (this.spec.handover) {
      handOver({
        handover: this.spec.handover,
        consumer,
        topics: this.spec.topics,
        before,
        now: this.ownedIndexes(),
        lostWork,
        commitLost: (indexes) => this.committer.commitLost(lost, indexes),
        handingOver: this.handingOver,
        releasing: this.releasing,
        commitsSettled: () => this.committer.settled(),
        acquired: () => this.committedReader.forgetReads(),
        ownedNow: (index) => this.ownedIndexes().includes(index),
        stopping: () => this.stopping,
        logger: this.logger.child({ consumer: this.spec.name }),
      });
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
    return this.ownedIndexes().filter((index) => !this.handingOver.has(index));
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
    if ('handleBatch' in this.spec) return handleWholeBatch(payload, this.spec, this.wholeBatchHost);
    const { batch, resolveOffset, heartbeat, isRunning, isStale, pause } = payload;
    const spec = this.spec;
    const state = this.partitionState(batch.topic, batch.partition);
    const stateKey = partitionKey(batch.topic, batch.partition);
    if (this.handingOver.has(batch.partition)) {
      // Fetched before the pause took effect: read again once the handover completes.
      pause();
      return;
    }
    if (!state.finishedElsewhere) {
      // A partition new to this member: what its previous reader finished past the commit is skipped.
      const finished = await this.committedReader.finished(this.generation, batch.topic, batch.partition);
      if (this.partitions.get(stateKey) !== state) return;
      state.finishedElsewhere = finished;
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
      if (state.finishedElsewhere.has(message.offset)) {
        state.watermark.track(message.offset);
        state.watermark.complete(message.offset);
        resolveOffset(message.offset);
        this.spec.onFinishedElsewhere?.();
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
      } else if (state.watermark.inFlight() > state.deferred.size && this.bytes.wouldOverrun(state, size)) {
        this.pauseUntilDrained(batch.topic, batch.partition, state, pause, 'bytes');
        return;
      }
      const owned = ownCopy(record);
      owned.stillOwned = () => this.partitions.get(stateKey) === state && !this.stopping;
      state.watermark.track(owned.offset);
      if (early) {
        this.defer(owned, state, dueAt, size);
      } else {
        this.bytes.hold(state, size);
        this.dispatch(owned, state, size);
      }
      resolveOffset(message.offset);
    }
    state.fetchedThrough = BigInt(batch.lastOffset());
    await heartbeat();
  }

  /** See handleUntilDurable (until-durable.ts). */
  private untilDurable(
    work: () => Promise<void>,
    first: ConsumedRecord,
    isolate?: (error: unknown) => Promise<void>,
  ): Promise<void> {
    return handleUntilDurable(work, first, this.durable, isolate);
  }

  private partitionState(topic: string, partition: number): PartitionState {
    const key = partitionKey(topic, partition);
    let state = this.partitions.get(key);
    if (!state) {
      state = newPartitionState(this.generation);
      this.partitions.set(key, state);
    }
    return state;
  }

  private dispatch(record: ConsumedRecord, state: PartitionState, size: number): void {
    const spec = this.spec as RecordSpec;
    const isolate = spec.isolate && ((error: unknown) => spec.isolate!(record, error));
    const release = () => {
      this.pending.delete(work);
      state.pending.delete(work);
      this.bytes.release(state, size);
    };
    // One continuation for both outcomes: a record waits in its lane with this chain alive (decision 87).
    const work: Promise<void> = this.untilDurable(() => spec.handle(record), record, isolate).then(
      () => {
        release();
        // On a partition lost meanwhile too: committed before its release (decision 93).
        state.watermark.complete(record.offset);
      },
      // Withdrawn (its partition moved, or this member stops), or given up while stopping: the
      // record stays unfinished, so no commit passes it, and the partition's next owner reads it.
      release,
    );
    this.pending.add(work);
    state.pending.add(work);
  }

  get name(): string {
    return this.spec.name;
  }

  /**
   * Grows each time records this consumer handed out may have been withdrawn (`stillOwned` turned
   * false): only a new generation (a rebalance) or the start of a stop can do that. Equal readings
   * mean no record was withdrawn in between, so a holder of many records need not ask each one.
   */
  get withdrawals(): number {
    return this.generation + (this.stopping ? 1 : 0);
  }

  /** Bytes of records this consumer holds unfinished. */
  buffered(): number {
    return this.bytes.held();
  }

  private pauseUntilDrained(
    topic: string,
    partition: number,
    state: PartitionState,
    pause: () => unknown,
    reason: 'window' | 'bytes' | 'deferred',
  ) {
    // Paused on kafkajs' current group even if already held (a restart after a crash makes a new
    // one, nothing paused), and resumed on it, not by pause()'s closure (the old group's): decision 94.
    pause();
    if (state.paused) return;
    state.paused = true;
    this.spec.onPause?.(reason);
    const check = () => {
      if (state.generation !== this.generation || this.stopping) return;
      const drained =
        state.watermark.inFlight() < this.spec.partitionWindow / 2 &&
        state.deferred.size < this.deferLimit / 2 &&
        this.bytes.drained(state);
      if (drained) {
        state.paused = false;
        setPaused(this.consumer, [{ topic, partitions: [partition] }], false);
      } else {
        state.resumeTimer = setTimeout(check, 20);
      }
    };
    state.resumeTimer = setTimeout(check, 20);
    this.logger.debug({ consumer: this.spec.name, topic, partition, reason }, 'partition paused');
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
        this.bytes.hold(state, size);
        this.dispatch(record, state, size);
      },
      dueAt - Date.now() + 1,
    );
    state.deferred.set(timer, size);
  }

  /** Stops fetching, waits for in-flight records up to the deadline, commits what finished. */
  async stop(deadlineMs: number): Promise<void> {
    if (!this.consumer) return;
    this.stopping = true;
    this.idleProbe?.stopProbing();
    setPaused(
      this.consumer,
      this.spec.topics.map((topic) => ({ topic })),
      true,
    );
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref());
    await Promise.race([Promise.allSettled([...this.pending]), deadline]);
    this.committer.stopTimer();
    for (const state of this.partitions.values()) {
      clearTimeout(state.resumeTimer);
      dropDeferred(state);
    }
    await this.committer.commit({ force: true });
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
