import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CLOCK } from '../common/clock.module';
import type { Clock } from '../domain/clock';
import { deliveryTaskFor } from '../domain/delivery-task';
import type { PlatformEvent } from '../domain/cloud-event';
import { IngestRate } from '../ingest/ingest-rate';
import { DeliveryTaskProducer } from './delivery-task-producer';
import { ReplayTargets } from './replay-target';

export const TEST_EVENT_TYPE = 'hookstream.test';

/** Test events: one signed event to one endpoint. (Window replay is a job: src/replay/jobs.) */
@Injectable()
export class ReplayService {
  constructor(
    private readonly targets: ReplayTargets,
    private readonly tasks: DeliveryTaskProducer,
    @Inject(IngestRate) private readonly rate: Pick<IngestRate, 'take'>,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * A signed `hookstream.test` event for this endpoint alone; returns its event id (webhook-id).
   * It takes a token of the tenant's ingest rate, as a published event does (429 past it): unmetered,
   * a loop of these produced deliveries without bound (review 8, F6).
   */
  async sendTestEvent(tenantId: string, endpointId: string): Promise<string> {
    await this.rate.take(tenantId, this.clock.now());
    const target = await this.targets.require(tenantId, endpointId);
    const now = this.clock.now();
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
}
