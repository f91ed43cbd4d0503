import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { LOGGER } from '../common/logger.module';
import { QuotaMetrics } from '../common/quota-metrics';
import { deliveryTaskFor, type DeliveryTask } from '../domain/delivery-task';
import { isAboutEndpoint } from '../domain/notifications';
import { matchesEventType } from '../domain/subscription-matcher';
import { parseCloudEvent, timestampToIso, type PlatformEvent } from '../domain/cloud-event';
import type { ConsumedRecord } from '../domain/records';
import { DeliveryTaskProducer } from './delivery-task-producer';
import { TopicRangeReader, type ScanStep } from '../kafka/topic-range-reader';
import { replayWindow } from './replay-window';
import { ReplayLeases } from './replay-leases';
import { ReplayTargets, type ReplayTarget } from './replay-target';

/** Most events one window replay re-delivers; the answer says `truncated` when it stopped there. */
export const MAX_WINDOW_REPLAY_EVENTS = 100_000;
/** Longest a window replay reads before answering (with `truncated`), so a request never hangs. */
export const WINDOW_REPLAY_DEADLINE_MS = 45_000;
/** A replay's lease outlives its deadline by this much, so it never expires under a running replay. */
const LEASE_MARGIN_MS = 15_000;

export const TEST_EVENT_TYPE = 'hookstream.test';

export interface WindowReplayResult {
  replayed: number;
  truncated: boolean;
}

/** Re-delivers past events to one endpoint, and sends test events, as fresh first attempts. */
@Injectable()
export class ReplayService {
  private readonly logger: Logger;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly targets: ReplayTargets,
    private readonly reader: TopicRangeReader,
    private readonly tasks: DeliveryTaskProducer,
    private readonly leases: ReplayLeases,
    private readonly quotas: QuotaMetrics,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'replay' });
  }

  /**
   * Reads the input topics back over [since, until) and delivers again, to this endpoint only, the
   * events of its tenant it is subscribed to. Each gets a new delivery id; the event id (webhook-id)
   * stays, so a receiver that already has an event can drop it. One at a time per tenant, across
   * instances (a replay reads the input topic from the broker: a tenant cannot take it over).
   */
  async replayWindow(
    tenantId: string,
    endpointId: string,
    since: string,
    until: string | undefined,
    limit = MAX_WINDOW_REPLAY_EVENTS,
  ): Promise<WindowReplayResult> {
    const target = await this.targets.require(tenantId, endpointId);
    const holder = randomUUID();
    if (!(await this.leases.acquire(tenantId, holder, WINDOW_REPLAY_DEADLINE_MS + LEASE_MARGIN_MS))) {
      this.quotas.rejected('window_replay');
      throw DomainError.rateLimited('a window replay of this tenant is already running; one at a time', 10);
    }
    try {
      return await this.replayHeld(tenantId, target, since, until, limit);
    } finally {
      await this.leases.release(tenantId, holder).catch((error: unknown) =>
        // The lease expires by itself; nothing else waits on this.
        this.logger.warn({ err: error, tenantId }, 'could not give the replay lease back; it expires'),
      );
    }
  }

  private async replayHeld(
    tenantId: string,
    target: ReplayTarget,
    since: string,
    until: string | undefined,
    limit: number,
  ): Promise<WindowReplayResult> {
    const endpointId = target.id;
    const window = replayWindow(since, until, Date.now(), await this.reader.retentionMs());
    const seen = new Set<string>();
    let replayed = 0;
    let truncated = false;

    const visit = async (records: ConsumedRecord[]): Promise<ScanStep> => {
      const tasks: DeliveryTask[] = [];
      for (const record of records) {
        const event = this.subscribedEvent(record, target);
        if (!event || seen.has(event.id)) continue;
        if (replayed + tasks.length >= limit) {
          truncated = true;
          break;
        }
        seen.add(event.id);
        tasks.push(deliveryTaskFor(event, target.id, Date.now(), randomUUID()));
      }
      await this.tasks.send(tasks);
      replayed += tasks.length;
      return truncated ? 'stop' : 'continue';
    };
    const scan = await this.reader.scan(window, WINDOW_REPLAY_DEADLINE_MS, visit);
    truncated ||= !scan.complete;
    this.logger.info(
      { tenantId, endpointId, since, until, scanned: scan.scanned, replayed, truncated },
      'window replayed',
    );
    return { replayed, truncated };
  }

  /** A signed `hookstream.test` event for this endpoint alone; returns its event id (webhook-id). */
  async sendTestEvent(tenantId: string, endpointId: string): Promise<string> {
    const target = await this.targets.require(tenantId, endpointId);
    const now = Date.now();
    const event: PlatformEvent = {
      specversion: '1.0',
      id: randomUUID(),
      type: TEST_EVENT_TYPE,
      source: '/hookstream/test',
      time: new Date(now).toISOString(),
      tenantId,
      data: { message: 'test event from Hookstream' },
    };
    await this.tasks.send([deliveryTaskFor(event, target.id, now, randomUUID())]);
    return event.id;
  }

  /** The record's event when it is valid, of the endpoint's tenant and of a type it subscribes to. */
  private subscribedEvent(record: ConsumedRecord, target: ReplayTarget): PlatformEvent | null {
    const parsed = parseCloudEvent(
      record.value,
      // The bytes, not the text: a ce_* header that is not UTF-8 must be refused, not read with U+FFFD.
      record.rawHeaders ?? record.headers,
      this.config.delivery.maxEventBytes,
      timestampToIso(record.timestampMs),
    );
    if (!parsed.ok) return null;
    const event = parsed.event;
    if (event.tenantId !== target.tenantId || !matchesEventType(target.eventTypes, event.type)) return null;
    if (isAboutEndpoint(event, target.id)) return null;
    return event;
  }
}
