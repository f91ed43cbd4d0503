import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { deliveryTaskFor, HEADER, type DeliveryTask } from '../../domain/delivery-task';
import { NotificationMark } from '../../domain/notification-mark';
import { isAboutEndpoint } from '../../domain/notifications';
import { matchesEventType } from '../../domain/subscription-matcher';
import { deliveredData, parseCloudEvent, timestampToIso, type PlatformEvent } from '../../domain/cloud-event';
import { tenantAllowedOnTopic } from '../../domain/topic-tenants';
import type { ConsumedRecord } from '../../domain/records';
import { TopicRangeReader } from '../../kafka/topic-range-reader';
import { DeliveryTaskProducer } from '../delivery-task-producer';
import { ReplayTargets, type ReplayTarget } from '../replay-target';
import { advanceWindow, remainingRanges, type ReplayJob, type ResumePoint } from './replay-job';
import {
  ReplayJobExecutors,
  type AfterChunk,
  type ChunkDone,
  type ReplayJobExecutor,
} from './replay-job-executors';

/** A partition with records left that yields nothing for this long fails the job rather than hang it. */
const IDLE_MS = 120_000;

/**
 * A window job: reads the input topics back from its resume point, a chunk of offsets at a time, and
 * re-delivers to its endpoint alone the events of its tenant it subscribes to, as first attempts
 * with the same event id (webhook-id) and a new delivery id.
 */
@Injectable()
export class WindowJobExecutor implements ReplayJobExecutor, OnModuleInit {
  readonly kind = 'window' as const;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reader: TopicRangeReader,
    private readonly targets: ReplayTargets,
    private readonly tasks: DeliveryTaskProducer,
    private readonly executors: ReplayJobExecutors,
    @Inject(NotificationMark) private readonly marks: Pick<NotificationMark, 'check'>,
  ) {}

  onModuleInit(): void {
    this.executors.register(this);
  }

  async run(
    job: ReplayJob,
    afterChunk: (chunk: ChunkDone) => Promise<AfterChunk>,
  ): Promise<'done' | 'stopped'> {
    let point: ResumePoint = job.resumePoint;
    const window = { sinceMs: job.since?.getTime() ?? 0, untilMs: job.until?.getTime() ?? null };
    let target = await this.targets.require(job.tenantId, job.endpointId);
    let checkedAt = Date.now();
    const ranges = remainingRanges(point);
    // A deleted input topic fails the job: its reads would fail as a broker outage does, and the
    // job would be handed back and claimed again for good.
    const missing = await this.reader.missingTopics(ranges.map((range) => range.topic));
    if (missing.length > 0) {
      throw new Error(`input topic ${missing.join(', ')} no longer exists; its records cannot be replayed`);
    }
    const scan = await this.reader.scan(
      ranges,
      window,
      { chunkRecords: this.config.replayJobs.chunkRecords, idleMs: IDLE_MS },
      async (records, position) => {
        // The endpoint may be disabled, deleted or re-subscribed while a long backfill runs.
        if (Date.now() - checkedAt > 5_000) {
          target = await this.targets.require(job.tenantId, job.endpointId);
          checkedAt = Date.now();
        }
        const tasks: DeliveryTask[] = [];
        for (const record of records) {
          const event = this.subscribedEvent(record, target);
          if (event) tasks.push(deliveryTaskFor(event, target.id, Date.now(), randomUUID()));
        }
        await this.tasks.send(tasks);
        point = advanceWindow(point, position.topic, position.partition, position.next);
        return afterChunk({
          read: records.length,
          matched: tasks.length,
          replayed: tasks.length,
          resumePoint: point,
        });
      },
    );
    return scan.complete ? 'done' : 'stopped';
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
    // The fan-out dead-lettered it (reserved_type): a hookstream.* event Hookstream did not mark.
    if (this.marks.check(event, record.headers[HEADER.notificationMark]).kind === 'refused') return null;
    // The fan-out dead-lettered it (tenant_not_allowed_on_topic): a replay must not deliver it after all.
    if (!tenantAllowedOnTopic(this.config.kafka.inputTopicTenants, record.topic, event.tenantId)) return null;
    // A notification about this endpoint is never sent to it (as in the fan-out).
    if (isAboutEndpoint(event, target.id)) return null;
    // The fan-out dead-lettered it (too_large): its task would not fit the broker.
    if (!deliveredData(event, this.config.delivery.maxEventBytes).ok) return null;
    return event;
  }
}
