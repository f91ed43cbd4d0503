import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { deliveryTaskFor } from '../domain/delivery-task';
import type { PlatformEvent } from '../domain/cloud-event';
import { DeliveryTaskProducer } from './delivery-task-producer';
import { ReplayTargets } from './replay-target';

export const TEST_EVENT_TYPE = 'hookstream.test';

/** Test events: one signed event to one endpoint. (Window replay is a job: src/replay/jobs.) */
@Injectable()
export class ReplayService {
  constructor(
    private readonly targets: ReplayTargets,
    private readonly tasks: DeliveryTaskProducer,
  ) {}

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
}
