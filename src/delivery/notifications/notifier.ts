import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { CLOCK } from '../../common/clock.module';
import { LOGGER } from '../../common/logger.module';
import { METRICS_REGISTRY } from '../../common/metrics.registry';
import { ThrottledWarning } from '../../common/throttled-warning';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { Clock } from '../../domain/clock';
import {
  deadLetterData,
  disabledData,
  failingData,
  isHookstreamType,
  NOTIFICATION_TYPE,
  TallyBook,
  tallyOf,
  type EndpointRef,
  type NotificationType,
  type Signal,
  type Tally,
  type TalliedType,
} from '../../domain/notifications';
import { EndpointCache } from '../../endpoints/endpoint-cache';
import { ConsumerRunner } from '../../kafka/consumer-runner';
import { NotificationPublisher } from './notification-publisher';
import { NotificationWindows, TallyKeptError, type WindowKey } from './notification-windows.repository';

/** Windows settled per flush at most (the rest wait for the next one). */
const FLUSH_LIMIT = 500;

/** Tries of a `hookstream.endpoint.disabled` publish before it is given up (logged, counted). */
const DISABLED_PUBLISH_TRIES = 5;

/**
 * The most the final flush at shutdown waits (with the disables still being published): main.ts
 * exits 5 s after HOOKSTREAM_SHUTDOWN_TIMEOUT, and the commits, the attempt log's drain and the
 * producer's disconnect come after it.
 */
export const FINAL_FLUSH_MS = 2_000;

/**
 * Tells a tenant about its endpoints (docs/notifications.md). The delivery side reports signals
 * here; the hot path only adds to an in-memory tally. A flush every few seconds settles each
 * endpoint's tally against its window in PostgreSQL (NotificationWindows), which decides, for
 * every replica together, whether it goes out now or waits for the interval, counted into the next.
 * `hookstream.endpoint.disabled` is not tallied: it goes out once per disable, because only the
 * replica whose disable changed the row reports it. At shutdown, once the delivery consumers have
 * drained, a final flush settles what they gathered and waits for the disables still being published.
 */
@Injectable()
export class Notifier implements OnModuleInit, OnModuleDestroy {
  private readonly book = new TallyBook<string>();
  private readonly logger: Logger;
  private readonly counted: Counter<'type' | 'result'>;
  private readonly flushFailed: ThrottledWarning;
  private flushing: Promise<void> | null = null;
  private timer?: NodeJS.Timeout;
  /** `hookstream.endpoint.disabled` publishes not yet finished, retries included. */
  private readonly disabling = new Set<Promise<void>>();
  /** Set by the final flush: retries of a disable stop waiting between tries. */
  private stopping = false;
  private readonly stopWaiting = new Set<() => void>();
  /** Set when the final flush's time ran out: the disables still running were counted `failed`. */
  private abandoned = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(NotificationPublisher) private readonly publisher: Pick<NotificationPublisher, 'publish'>,
    @Inject(NotificationWindows) private readonly windows: Pick<NotificationWindows, 'settle' | 'due'>,
    @Inject(EndpointCache) private readonly endpoints: Pick<EndpointCache, 'get'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(ConsumerRunner) private readonly consumers: Pick<ConsumerRunner, 'afterDrain'>,
  ) {
    this.logger = logger.child({ component: 'notifier' });
    this.flushFailed = new ThrottledWarning(this.logger, 'could not settle notification windows; retrying');
    this.counted = new Counter({
      name: 'hookstream_notifications_total',
      help:
        'Operational notifications by type: published, suppressed (signals counted into another ' +
        'notification, or a disable already reported), failed (given up)',
      labelNames: ['type', 'result'],
      registers: [registry],
    });
  }

  onModuleInit(): void {
    const everyMs = Math.min(5_000, Math.max(250, Math.floor(this.config.notificationIntervalMs / 4)));
    this.timer = setInterval(() => void this.flush(), everyMs);
    this.timer.unref();
    // After the drain, not in a shutdown hook of this class: Nest closes the consumers after every
    // onModuleDestroy and beforeApplicationShutdown hook and before any onApplicationShutdown hook
    // (where the producer disconnects and PostgreSQL closes), whatever the order between modules.
    this.consumers.afterDrain(() => this.finalFlush());
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /**
   * Settles what the drained deliveries left (dead letters, open circuits), after any flush still
   * running, and waits for the disables being published; at most `withinMs`. What is not done by
   * then is logged, and the disables not published are counted `failed`.
   */
  async finalFlush(withinMs = FINAL_FLUSH_MS): Promise<void> {
    clearInterval(this.timer);
    this.stopping = true;
    for (const wake of this.stopWaiting) wake();
    const work = (async () => {
      await this.flushing;
      await this.flush();
      await Promise.allSettled([...this.disabling]);
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), withinMs)));
    const outcome = await Promise.race([work.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'done') return;
    const unpublished = this.disabling.size;
    if (unpublished > 0) this.count(NOTIFICATION_TYPE.disabled, 'failed', unpublished);
    this.abandoned = true;
    this.logger.error(
      { withinMs, disablesUnpublished: unpublished, flushUnfinished: this.flushing !== null },
      'final notification flush did not finish in time; what it had not settled is lost',
    );
  }

  /**
   * An endpoint was disabled automatically (410 Gone, failing too long) by this process: its tenant
   * is told once. Not awaited by the caller: the disable stands whether or not Kafka takes it now.
   * The final flush waits for it.
   */
  endpointDisabled(endpointId: string, reason: string, atMs: number): Promise<void> {
    const publishing: Promise<void> = this.publishDisabled(endpointId, reason, atMs).finally(() =>
      this.disabling.delete(publishing),
    );
    this.disabling.add(publishing);
    return publishing;
  }

  private async publishDisabled(endpointId: string, reason: string, atMs: number): Promise<void> {
    const endpoint = this.endpoints.get(endpointId);
    if (endpoint === undefined) return;
    const data = disabledData({ id: endpointId, url: endpoint.url }, reason, atMs);
    const notification = {
      type: NOTIFICATION_TYPE.disabled,
      tenantId: endpoint.tenantId,
      endpointId,
      atMs,
      data,
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.publisher.publish(notification);
        // One the final flush gave up on was counted `failed` then.
        if (!this.abandoned) this.count(NOTIFICATION_TYPE.disabled, 'published');
        return;
      } catch (error) {
        if (attempt >= DISABLED_PUBLISH_TRIES) {
          if (!this.abandoned) this.count(NOTIFICATION_TYPE.disabled, 'failed');
          this.logger.error({ err: error, endpointId }, 'could not publish hookstream.endpoint.disabled');
          return;
        }
        await this.pause(500 * 2 ** attempt);
      }
    }
  }

  /** Waits `ms` between tries of a disable, or less once the final flush began (it tries at once). */
  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.stopWaiting.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.stopWaiting.add(wake);
    });
  }

  /** A disable that another process (or an earlier attempt) already made and reported. */
  disableAlreadyReported(): void {
    this.count(NOTIFICATION_TYPE.disabled, 'suppressed');
  }

  /** A failed attempt of an endpoint whose circuit is open. */
  endpointFailing(endpointId: string, tenantId: string, signal: Signal): void {
    this.book.add(bookKey(NOTIFICATION_TYPE.failing, endpointId, tenantId), tallyOf(signal));
  }

  /**
   * A delivery dead-lettered. Those of Hookstream's own events are not counted: a notification
   * that cannot be delivered must not beget another one (the loop guard).
   */
  deadLettered(endpointId: string, tenantId: string, eventType: string, signal: Signal): void {
    if (isHookstreamType(eventType)) return;
    this.book.add(bookKey(NOTIFICATION_TYPE.deadLetter, endpointId, tenantId), tallyOf(signal));
  }

  /** Settles what was gathered, and the windows whose pending tally is now due; one flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.settleAll()
      .catch((error: unknown) => this.flushFailed.warn(error))
      .finally(() => (this.flushing = null));
    return this.flushing;
  }

  private async settleAll(): Promise<void> {
    const nowMs = this.clock.now();
    const intervalMs = this.config.notificationIntervalMs;
    const gathered = this.book.drain();
    const keys = new Map<string, WindowKey>();
    for (const key of gathered.keys()) keys.set(key, parseKey(key));
    try {
      for (const window of await this.windows.due(nowMs, intervalMs, FLUSH_LIMIT)) {
        keys.set(bookKey(window.type, window.endpointId, window.tenantId), window);
      }
    } catch (error) {
      for (const [key, tally] of gathered) this.book.restore(key, tally);
      throw error;
    }
    for (const [key, window] of keys) {
      const added = gathered.get(key) ?? null;
      try {
        await this.windows.settle(window, added, nowMs, intervalMs, (tally, atMs) =>
          this.publishTally(window, tally, atMs, intervalMs),
        );
      } catch (error) {
        // Once the window has taken `added` in, it keeps it: restored here too, it would count twice.
        if (added !== null && !(error instanceof TallyKeptError)) this.book.restore(key, added);
        this.flushFailed.warn(error);
      }
    }
  }

  private async publishTally(
    window: WindowKey,
    tally: Tally,
    atMs: number,
    intervalMs: number,
  ): Promise<void> {
    const endpoint: EndpointRef = {
      id: window.endpointId,
      url: this.endpoints.get(window.endpointId)?.url ?? null,
    };
    const data =
      window.type === NOTIFICATION_TYPE.failing
        ? failingData(endpoint, tally, intervalMs)
        : deadLetterData(endpoint, tally, intervalMs);
    await this.publisher.publish({ ...window, atMs, data });
    this.count(window.type, 'published');
    if (tally.count > 1) this.count(window.type, 'suppressed', tally.count - 1);
    this.logger.info(
      { endpointId: window.endpointId, tenantId: window.tenantId, type: window.type, count: tally.count },
      'notification published',
    );
  }

  private count(type: NotificationType, result: 'published' | 'suppressed' | 'failed', by = 1): void {
    this.counted.inc({ type, result }, by);
  }
}

function bookKey(type: TalliedType, endpointId: string, tenantId: string): string {
  return `${type} ${endpointId} ${tenantId}`;
}

function parseKey(key: string): WindowKey {
  const [type, endpointId, tenantId] = key.split(' ');
  return { type: type as TalliedType, endpointId, tenantId };
}
