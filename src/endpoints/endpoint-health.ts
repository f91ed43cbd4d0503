import { Injectable } from '@nestjs/common';

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface EndpointHealth {
  circuitState: CircuitState;
  failureCount: number;
}

/** Reports an endpoint's circuit state to the REST API; the delivery engine owns the real numbers. */
export interface EndpointHealthView {
  healthOf(endpointId: string): EndpointHealth | Promise<EndpointHealth>;
}

/** Inject this token to read health, or to `attach()` the delivery engine's view at startup. */
export const ENDPOINT_HEALTH_VIEW = Symbol('ENDPOINT_HEALTH_VIEW');

const HEALTHY: EndpointHealth = { circuitState: 'closed', failureCount: 0 };

/**
 * Default view: every circuit closed until the delivery engine attaches its own source, which it
 * does from its module's onModuleInit (`@Inject(ENDPOINT_HEALTH_VIEW) view.attach(circuits)`).
 */
@Injectable()
export class SwitchableEndpointHealthView implements EndpointHealthView {
  private source: EndpointHealthView | null = null;

  attach(source: EndpointHealthView | null): void {
    this.source = source;
  }

  healthOf(endpointId: string): EndpointHealth | Promise<EndpointHealth> {
    return this.source ? this.source.healthOf(endpointId) : HEALTHY;
  }
}
