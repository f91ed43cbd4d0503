import { Injectable } from '@nestjs/common';
import type { HoldRequest } from '../retry/held-deliveries';

/**
 * What the fan-out asks this process's delivery side before producing a task: an endpoint that
 * cannot take deliveries now gets its task held in PostgreSQL at once, instead of going through
 * the deliveries topic only to be held there (README decision 25).
 */
export interface DeliveryGate {
  /** The endpoint's circuit refuses attempts or its lane hangs, as this process sees it. */
  unavailable(endpointId: string, nowMs: number): boolean;
  /** Resolves once the task is held; rejects if the row was not written. */
  hold(request: HoldRequest): Promise<void>;
}

/** Inject this token to ask, or to `attach()` the delivery engine's answers at startup. */
export const DELIVERY_GATE = Symbol('DELIVERY_GATE');

/**
 * Default gate: every endpoint available, until the delivery module attaches the engine's view from
 * its onModuleInit. A process without the delivery side (HOOKSTREAM_ROLES) keeps the default.
 */
@Injectable()
export class SwitchableDeliveryGate implements DeliveryGate {
  private source: DeliveryGate | null = null;

  attach(source: DeliveryGate | null): void {
    this.source = source;
  }

  unavailable(endpointId: string, nowMs: number): boolean {
    return this.source?.unavailable(endpointId, nowMs) ?? false;
  }

  hold(request: HoldRequest): Promise<void> {
    if (!this.source) return Promise.reject(new Error('no delivery engine in this process'));
    return this.source.hold(request);
  }
}
