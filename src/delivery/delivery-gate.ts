import { Inject, Injectable } from '@nestjs/common';
import { CLOCK } from '../common/clock.module';
import type { Clock } from '../domain/clock';
import type { HoldRequest } from '../retry/held-deliveries';
import { DeliveryEngine } from './delivery-engine';
import { Settler } from './settler';

/**
 * What the fan-out asks before producing a task: an endpoint that this process knows cannot take
 * deliveries now gets its task held in PostgreSQL at once, instead of going through the deliveries
 * topic only to be held there (README decision 25). In a process that attempts no deliveries
 * (HOOKSTREAM_ROLES without delivery) every endpoint looks available.
 */
@Injectable()
export class DeliveryGate {
  constructor(
    @Inject(DeliveryEngine) private readonly engine: Pick<DeliveryEngine, 'room'>,
    @Inject(Settler) private readonly settler: Pick<Settler, 'holdAtFanout'>,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * How many more tasks the endpoint takes now, as this process sees it: none while its circuit
   * refuses attempts or its lane hangs; for a slow lane, what it keeps at its pace; else unbounded.
   */
  room(endpointId: string): number {
    return this.engine.room(endpointId, this.clock.now());
  }

  /** Resolves once the task is held; rejects if the row was not written. */
  hold(request: HoldRequest): Promise<void> {
    return this.settler.holdAtFanout(request);
  }
}
