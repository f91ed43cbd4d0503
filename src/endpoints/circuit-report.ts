import { Injectable } from '@nestjs/common';
import type { CircuitState } from '../domain/circuit-breaker';

/** An endpoint's circuit as the REST API shows it. */
export interface CircuitReport {
  circuitState: CircuitState;
  failureCount: number;
}

/** Reports endpoints' circuits to the REST API; the delivery module owns the circuits themselves. */
export interface CircuitReporter {
  circuitOf(endpointId: string): CircuitReport;
}

/** Inject this token to read circuits, or to `attach()` the delivery module's reporter at startup. */
export const CIRCUIT_REPORTER = Symbol('CIRCUIT_REPORTER');

const CLOSED: CircuitReport = { circuitState: 'closed', failureCount: 0 };

/**
 * Every circuit closed until the delivery module, which sits above this one, attaches its
 * circuits from its onModuleInit: endpoints cannot import delivery without a cycle.
 */
@Injectable()
export class SwitchableCircuitReporter implements CircuitReporter {
  private source: CircuitReporter | null = null;

  attach(source: CircuitReporter | null): void {
    this.source = source;
  }

  circuitOf(endpointId: string): CircuitReport {
    return this.source ? this.source.circuitOf(endpointId) : CLOSED;
  }
}
