import { Inject, Injectable } from '@nestjs/common';
import { CLOCK } from '../common/clock.module';
import type { Clock } from '../domain/clock';
import type { QueryDeadline } from '../database/query-deadline';
import { ConsumerRunner } from '../kafka/consumer-runner';
import type { HoldRequest } from '../retry/held-deliveries';
import { DeliveryEngine } from './delivery-engine';
import { RemoteRefusals } from './remote-refusals';
import { Settler } from './settler';

/**
 * What the fan-out asks before producing a task: an endpoint that cannot take deliveries now gets
 * its task held in PostgreSQL at once, instead of going through the deliveries topic only to be
 * held there (README decision 25). An endpoint this process owns is judged by its own circuit and
 * lane; one another process owns (another worker or replica) by the open circuit or hanging lane its
 * owner stored (RemoteRefusals), a slow lane's pace unseen.
 */
@Injectable()
export class DeliveryGate {
  constructor(
    @Inject(DeliveryEngine) private readonly engine: Pick<DeliveryEngine, 'room'>,
    @Inject(Settler) private readonly settler: Pick<Settler, 'holdAtFanout'>,
    @Inject(ConsumerRunner) private readonly consumers: Pick<ConsumerRunner, 'ownsEndpoint'>,
    @Inject(RemoteRefusals) private readonly remote: Pick<RemoteRefusals, 'refuses'>,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * How many more tasks the endpoint takes now, as this process sees it: none while its circuit
   * refuses attempts or its lane hangs; for a slow lane, what it keeps at its pace; else unbounded.
   */
  room(endpointId: string): number {
    const nowMs = this.clock.now();
    // The map lookup first: ownership costs a hash and two arrays, on every delivery the fan-out makes.
    if (this.remote.refuses(endpointId, nowMs) && !this.consumers.ownsEndpoint(endpointId)) return 0;
    return this.engine.room(endpointId, nowMs);
  }

  /** Resolves once the task is held; rejects if the row was not written. */
  hold(request: HoldRequest, deadline: QueryDeadline): Promise<void> {
    return this.settler.holdAtFanout(request, deadline);
  }
}
