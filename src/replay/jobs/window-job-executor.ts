import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { deliveryTaskFor, HEADER, type DeliveryTask } from '../../domain/delivery-task';
import { readEndpointChangeMarker } from '../../domain/endpoint-change-marker';
import { acceptTenantEvent, parseRecordEvent, type AcceptanceRules } from '../../domain/event-acceptance';
import { NotificationMark } from '../../domain/notification-mark';
import { isAboutEndpoint } from '../../domain/notifications';
import { matchesEventType } from '../../domain/subscription-matcher';
import type { PlatformEvent } from '../../domain/cloud-event';
import type { ConsumedRecord } from '../../domain/records';
import { TopicRangeReader } from '../../kafka/topic-range-reader';
import { EventCatalogue } from '../../catalogue/event-catalogue';
import { DeliveryTaskProducer } from '../delivery-task-producer';
import { ReplayTargets, type ReplayTarget } from '../replay-target';
import { advanceWindow, remainingRanges, type ReplayJob, type ResumePoint } from './replay-job';
import {
  ReplayJobExecutors,
  type AfterChunk,
  type ChunkDone,
  type ReplayJobExecutor,
} from './replay-job-executors';

/**
 * A partition with records left that yields nothing for this long (outside the job's own sends and
 * saves) ends the run rather than hang it: failed when the range is gone, else handed back to resume.
 */
const IDLE_MS = 120_000;

/**
 * A window job: reads the input topics back from its resume point, a chunk of offsets at a time, and
 * re-delivers to its endpoint alone the events of its tenant it subscribes to, as first attempts
 * with the same event id (webhook-id) and a new delivery id.
 */
@Injectable()
export class WindowJobExecutor implements ReplayJobExecutor, OnModuleInit {
  readonly kind = 'window' as const;
  private readonly rules: AcceptanceRules;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reader: TopicRangeReader,
    private readonly targets: ReplayTargets,
    private readonly tasks: DeliveryTaskProducer,
    private readonly executors: ReplayJobExecutors,
    @Inject(NotificationMark) private readonly marks: Pick<NotificationMark, 'check'>,
    @Inject(EventCatalogue) private readonly catalogue: Pick<EventCatalogue, 'check'>,
  ) {
    this.rules = {
      maxEventBytes: config.delivery.maxEventBytes,
      inputTopicTenants: config.kafka.inputTopicTenants,
      checkSchema: (type, data) => this.catalogue.check(type, data),
    };
  }

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

  /**
   * The record's event when the fan-out took it (the same rules: domain/event-acceptance.ts), it is of
   * the endpoint's tenant and of a type the endpoint subscribes to. The fan-out's one check left out
   * is the tenant's existence: the job's tenant exists.
   */
  private subscribedEvent(record: ConsumedRecord, target: ReplayTarget): PlatformEvent | null {
    // An endpoint-change marker, or a record with a control header the fan-out dead-lettered.
    if (readEndpointChangeMarker(record).kind !== 'not-a-marker') return null;
    const parsed = parseRecordEvent(record, this.config.delivery.maxEventBytes);
    if (!parsed.ok) return null;
    const event = parsed.event;
    if (event.tenantId !== target.tenantId || !matchesEventType(target.eventTypes, event.type)) return null;
    const mark = this.marks.check(event, record.headers[HEADER.notificationMark]);
    if (mark.kind === 'refused') return null;
    if (!acceptTenantEvent(record, event, mark, this.rules).ok) return null;
    // A notification about this endpoint is never sent to it (as in the fan-out).
    if (isAboutEndpoint(event, target.id)) return null;
    return event;
  }
}
