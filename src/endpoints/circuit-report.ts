import type { CircuitState } from '../domain/circuit-breaker';

/** An endpoint's circuit as the REST API and the ops views show it. */
export interface CircuitReport {
  circuitState: CircuitState;
  failureCount: number;
}

export const CLOSED_CIRCUIT: CircuitReport = { circuitState: 'closed', failureCount: 0 };
