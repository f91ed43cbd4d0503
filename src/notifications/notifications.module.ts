import { Module } from '@nestjs/common';
import { EndpointsModule } from '../endpoints/endpoints.module';
import { NotificationPublisher } from './notification-publisher';
import { NotificationWindows } from './notification-windows.repository';
import { Notifier } from './notifier';

/**
 * Operational notifications to tenants (`hookstream.endpoint.disabled`, `hookstream.endpoint.failing`,
 * `hookstream.dead_letter.created`): the delivery side reports to the Notifier, which publishes them
 * as the tenant's own events, at most one per endpoint, type and HOOKSTREAM_NOTIFICATION_INTERVAL.
 */
@Module({
  imports: [EndpointsModule],
  providers: [NotificationPublisher, NotificationWindows, Notifier],
  exports: [Notifier],
})
export class NotificationsModule {}
