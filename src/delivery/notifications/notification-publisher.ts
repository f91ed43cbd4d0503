import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { toStructuredCloudEvent, type PlatformEvent } from '../../domain/cloud-event';
import { HEADER } from '../../domain/delivery-task';
import { NotificationMark } from '../../domain/notification-mark';
import { NOTIFICATION_SOURCE, notificationEventId, type NotificationType } from '../../domain/notifications';
import { RecordProducer } from '../../kafka/record-producer';

export interface Notification {
  type: NotificationType;
  tenantId: string;
  /** The endpoint it is about: the event's `subject`, left out of the fan-out. */
  endpointId: string;
  atMs: number;
  data: unknown;
}

/**
 * Publishes a notification as an ordinary platform event of its tenant: to the input topic, keyed
 * by the tenant id, CloudEvents with source `hookstream`. From there it takes the path every event
 * takes (fan-out to the endpoints subscribed to its type, signing, retries, the events feed).
 * Its mark header tells the fan-out it is Hookstream's: a `hookstream.*` event without one is
 * dead-lettered (`reserved_type`), whoever wrote it to the topic.
 */
@Injectable()
export class NotificationPublisher {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RecordProducer) private readonly producer: Pick<RecordProducer, 'send'>,
    @Inject(NotificationMark) private readonly marks: Pick<NotificationMark, 'mark'>,
  ) {}

  /** Resolves once Kafka has it (acks=all); returns the event id. */
  async publish(notification: Notification): Promise<string> {
    const event: PlatformEvent = {
      specversion: '1.0',
      id: notificationEventId(notification.type, notification.endpointId, notification.atMs),
      type: notification.type,
      source: NOTIFICATION_SOURCE,
      subject: notification.endpointId,
      time: new Date(notification.atMs).toISOString(),
      tenantId: notification.tenantId,
      data: notification.data,
    };
    await this.producer.send(this.config.kafka.inputTopics[0], [
      {
        key: event.tenantId,
        value: toStructuredCloudEvent(event),
        headers: {
          'content-type': 'application/cloudevents+json',
          [HEADER.notificationMark]: this.marks.mark(event),
        },
      },
    ]);
    return event.id;
  }
}
