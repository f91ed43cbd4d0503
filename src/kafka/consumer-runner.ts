import {
  applyDecorators,
  Catch,
  Controller,
  Inject,
  Injectable,
  UseFilters,
  type OnModuleDestroy,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { BaseRpcContext, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { isObservable, lastValueFrom, throwError, type Observable } from 'rxjs';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { METRICS_REGISTRY } from '../common/metrics.registry';
import { deadLetterOfRecord } from '../domain/dead-letter';
import type { ConsumedBatch, ConsumedRecord } from '../domain/records';
import {
  assertOneConsumerPerTopic,
  consumerPlan,
  CONSUMER,
  type ConsumerDeclaration,
  type ConsumerPattern,
} from './consumer-plan';
import { KAFKA } from './kafka.constants';
import { KafkaAdmin } from './kafka-admin';
import { RecordProducer } from './record-producer';
import { PARTITION_HANDOVER } from './partition-handover';
import { deliveryPartitionOf } from './partitioning';
import { WatermarkConsumer, type PartitionHandover, type WatermarkConsumerSpec } from './watermark-consumer';

/** What a consumer handler gets besides the record or batch: which consumer read it. */
export class ConsumerContext extends BaseRpcContext<[string]> {
  consumerName(): string {
    return this.args[0];
  }
}

/**
 * Hands a handler's error back to the runner as it was thrown, so the runner retries the record
 * (the outcome was not made durable). Nest's default RPC filter would log it and replace it with
 * "Internal server error".
 */
@Catch()
export class HandBackToRunner implements RpcExceptionFilter {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}

/** A controller whose `@EventPattern(CONSUMER.x)` methods handle Kafka records through the runner. */
export const ConsumerController = (): ClassDecorator =>
  applyDecorators(Controller(), UseFilters(new HandBackToRunner()));

/**
 * Nest's microservice transport for Hookstream's consumers (a custom transport strategy): every
 * consumer of {@link consumerPlan} that this process's roles run is a {@link WatermarkConsumer}
 * feeding the `@EventPattern` handler of its pattern, which Nest discovers. The runner keeps what
 * the built-in Kafka transport lacks (README decision 6): per-endpoint lanes behind the handler,
 * commits only up to the lowest unfinished record, records held until due, a failed handler
 * retried instead of stalling or skipping. Refuses to start when a declared consumer has no
 * handler or two, a handler has no declared consumer, or a topic has two consumers.
 */
/** The least the consumers are given to drain, however long the hooks before them took. */
const MIN_DRAIN_MS = 1_000;

@Injectable()
export class ConsumerRunner extends Server implements CustomTransportStrategy, OnModuleDestroy {
  private readonly consumers: WatermarkConsumer[] = [];
  private readonly drainedHooks: Array<() => Promise<void>> = [];
  private shutdownBeganAt: number | null = null;
  /** The co-partitioned consumer of the deliveries and retry tiers, when this process runs it. */
  private delivery?: WatermarkConsumer;
  private readonly log: Logger;
  private readonly pauses: Counter<'consumer' | 'reason'>;
  private readonly isolated: Counter<'consumer' | 'outcome'>;
  private readonly finishedElsewhere: Counter<'consumer'>;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RecordProducer) private readonly producer: Pick<RecordProducer, 'send'>,
    @Inject(PARTITION_HANDOVER) private readonly handover: PartitionHandover,
    @Inject(KafkaAdmin)
    private readonly admin: Pick<KafkaAdmin, 'carryOverTierOffsets' | 'committedOffsets' | 'retiredTiers'>,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(LOGGER) logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'consumers' });
    this.pauses = new Counter({
      name: 'hookstream_partition_pauses_total',
      help: 'Partitions paused because their window (records), byte share or early records were full',
      labelNames: ['consumer', 'reason'],
      registers: [registry],
    });
    this.isolated = new Counter({
      name: 'hookstream_records_isolated_total',
      help: 'Records a handler kept failing on for a reason that is not transient, taken out of the way',
      labelNames: ['consumer', 'outcome'],
      registers: [registry],
    });
    this.finishedElsewhere = new Counter({
      name: 'hookstream_records_finished_elsewhere_total',
      help: "Records skipped on a partition this process took over: its previous reader had finished them past the committed offset, as the commit's metadata said",
      labelNames: ['consumer'],
      registers: [registry],
    });
    const consumers = this.consumers;
    new Gauge({
      name: 'hookstream_consumer_buffered_bytes',
      help: 'Bytes of records handed to handlers and not finished, by consumer (HOOKSTREAM_CONSUMER_BUFFER)',
      labelNames: ['consumer'],
      registers: [registry],
      collect() {
        this.reset();
        for (const consumer of consumers) this.set({ consumer: consumer.name }, consumer.buffered());
      },
    });
  }

  listen(callback: (error?: Error) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private async start(): Promise<void> {
    const plan = consumerPlan(this.config, this.admin.retiredTiers());
    assertOneConsumerPerTopic(plan);
    this.assertHandlers(plan);
    for (const declaration of plan.filter((d) => d.roles.some((role) => this.config.roles.has(role)))) {
      if (declaration.coPartitioned) await this.carryOverTierOffsets();
      const consumer = new WatermarkConsumer(
        this.kafka,
        this.specFor(declaration),
        this.log.child({ consumer: declaration.name }),
      );
      await consumer.start();
      this.consumers.push(consumer);
      if (declaration.coPartitioned) this.delivery = consumer;
    }
  }

  /**
   * The partition indexes of the deliveries topic and retry tiers this process works on now: assigned
   * and handed over (none without the delivery role).
   */
  ownedDeliveryPartitions(): number[] {
    return this.delivery?.activeIndexes() ?? [];
  }

  /**
   * Changes whenever a record any consumer handed out may have been withdrawn
   * (WatermarkConsumer.withdrawals); unchanged, none was.
   */
  withdrawals(): number {
    let sum = 0;
    for (const consumer of this.consumers) sum += consumer.withdrawals;
    return sum;
  }

  /** Whether this process owns the endpoint now (its first attempts, retries, lane, circuit and held backlog). */
  ownsEndpoint(endpointId: string): boolean {
    return this.ownedDeliveryPartitions().includes(deliveryPartitionOf(endpointId, this.config));
  }

  /** Best effort: with the group already running elsewhere, it has been done (or is not needed). */
  private async carryOverTierOffsets(): Promise<void> {
    try {
      await this.admin.carryOverTierOffsets();
    } catch (error) {
      this.log.warn({ err: error }, "could not carry the former retry tier groups' offsets over");
    }
  }

  /** Every declared pattern has exactly one handler, and every handler a declared pattern. */
  private assertHandlers(plan: ConsumerDeclaration[]): void {
    const known = new Set<string>(Object.values(CONSUMER));
    for (const pattern of this.getHandlers().keys()) {
      if (!known.has(pattern)) throw new Error(`@EventPattern('${pattern}') has no declared consumer`);
    }
    for (const pattern of new Set(plan.flatMap((declaration) => declaration.patterns))) {
      const handler = this.getHandlerByPattern(pattern);
      if (!handler) throw new Error(`consumer pattern ${pattern} has no @EventPattern handler`);
      if (handler.next) throw new Error(`consumer pattern ${pattern} has two @EventPattern handlers`);
    }
  }

  private specFor(declaration: ConsumerDeclaration): WatermarkConsumerSpec {
    const context = new ConsumerContext([declaration.name]);
    const handlers = new Map(
      declaration.topics.map((topic) => [topic, this.getHandlerByPattern(declaration.patternFor(topic))!]),
    );
    const invoke = (data: ConsumedRecord | ConsumedBatch) =>
      settled(handlers.get(data.topic)!(data, context));
    const afterIsolating =
      declaration.afterIsolating === undefined
        ? undefined
        : this.getHandlerByPattern(declaration.afterIsolating)!;
    const isolate = async (record: ConsumedRecord, error: unknown) => {
      await this.isolate(declaration, record, error);
      if (afterIsolating) await settled(afterIsolating(record, context));
    };
    const { name, groupId, topics, partitionWindow, maxWaitMs, maxBytesPerPartition, idleProbe } =
      declaration;
    const base = {
      name,
      groupId,
      topics,
      partitionWindow,
      maxWaitMs,
      maxBytesPerPartition,
      bufferBytes: this.config.limits.consumerBufferBytes,
      isolate,
      onPause: (reason: string) => this.pauses.inc({ consumer: name, reason }),
      committedOffsets: (topic: string) => this.admin.committedOffsets(groupId, topic),
      onFinishedElsewhere: () => this.finishedElsewhere.inc({ consumer: name }),
      coPartitioned: declaration.coPartitioned,
      handover: declaration.coPartitioned ? this.handover : undefined,
      idleProbe,
    };
    if (declaration.mode === 'batches') return { ...base, handleBatch: invoke };
    return { ...base, dueAtMs: declaration.dueAtMs, handle: invoke };
  }

  /**
   * A record its handler keeps failing on for a reason that is not transient: dead-lettered as
   * `handler_failed` (replayable like any dead letter with a task), or, for the dead-letter mirror,
   * skipped: its record stays in the DLQ topic, only its row is missing. The declaration's
   * `afterIsolating` handler runs next (specFor); until it resolves the record is not committed, so
   * a crash in between leaves it to be read, and isolated, again.
   */
  private async isolate(
    declaration: ConsumerDeclaration,
    record: ConsumedRecord,
    error: unknown,
  ): Promise<void> {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (declaration.isolate === 'dead-letter') {
      await this.producer.send(this.config.kafka.dlqTopic, [
        deadLetterOfRecord(record, 'handler_failed', detail),
      ]);
    }
    this.isolated.inc({ consumer: declaration.name, outcome: declaration.isolate });
    this.log.error(
      {
        consumer: declaration.name,
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        detail,
      },
      declaration.isolate === 'dead-letter' ? 'record dead-lettered: handler_failed' : 'record skipped',
    );
  }

  /** Records handed to handlers and not yet finished, over every consumer of this process. */
  inFlight(): number {
    return this.consumers.reduce((sum, consumer) => sum + consumer.inFlight(), 0);
  }

  /** Nest's first shutdown hook: the consumers' share of HOOKSTREAM_SHUTDOWN_TIMEOUT counts from here. */
  onModuleDestroy(): void {
    this.shutdownBeganAt ??= Date.now();
  }

  /**
   * Stops fetching, waits for in-flight records up to what is left of the shutdown timeout, commits
   * what finished. Nest calls this after every `beforeApplicationShutdown` hook (a replay job may
   * take half the timeout to reach its chunk's end), and main.ts exits 5 s after the timeout,
   * counted from the signal: a full timeout from here would be cut short there, before the final
   * commit, the partitions' release and the attempt log's drain.
   */
  async close(): Promise<void> {
    const spent = this.shutdownBeganAt === null ? 0 : Date.now() - this.shutdownBeganAt;
    const drainMs = Math.max(MIN_DRAIN_MS, this.config.shutdownTimeoutMs - spent);
    await Promise.all(this.consumers.map((consumer) => consumer.stop(drainMs)));
    this.consumers.length = 0;
    await this.runDrainedHooks();
  }

  /**
   * Runs `hook` in {@link close} once the consumers have drained: the last work a handler's
   * outcome left behind (the notifier's final flush). Nest closes this transport before any
   * `onApplicationShutdown` hook, so the producer and PostgreSQL are still there; `hook` must bound
   * its own time (main.ts exits 5 s after the shutdown timeout).
   */
  afterDrain(hook: () => Promise<void>): void {
    this.drainedHooks.push(hook);
  }

  /** Every hook, together; one that fails is logged and does not keep the rest or the close from finishing. */
  private async runDrainedHooks(): Promise<void> {
    const hooks = this.drainedHooks.splice(0);
    const outcomes = await Promise.allSettled(hooks.map((hook) => hook()));
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        this.log.error({ err: outcome.reason }, 'a hook after the consumers drained failed');
      }
    }
  }

  on(): never {
    throw new Error('the consumer runner emits no events');
  }

  unwrap<T>(): T {
    return this.consumers as T;
  }
}

/** Waits for the handler's outcome, whether it answered with a promise or an observable. */
export async function settled(result: Promise<unknown>): Promise<void> {
  const value: unknown = await result;
  if (isObservable(value)) await lastValueFrom(value, { defaultValue: undefined });
}

export { CONSUMER, type ConsumerPattern };
