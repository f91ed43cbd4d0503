import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { EndpointDirectory } from '../endpoints/endpoint-directory';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { CircuitBreaker } from '../domain/circuit-breaker';

import type { CircuitState } from '../endpoints/endpoint-health';

/** A probe's outcome is recorded a little after its HTTP timeout fires. */
const PROBE_ANSWER_SLACK_MS = 1_000;

/** A circuit per endpoint; an endpoint failing for longer than HOOKSTREAM_DISABLE_AFTER is disabled. */
@Injectable()
export class EndpointHealth {
  private readonly circuits = new Map<string, CircuitBreaker>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly directory: EndpointDirectory,
    private readonly cache: EndpointCache,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  canAttempt(endpointId: string, nowMs: number): boolean {
    return this.circuit(endpointId).canAttempt(nowMs);
  }

  /** Whether the circuit refuses attempts now; unlike {@link canAttempt}, claims no probe. */
  isShut(endpointId: string, nowMs: number): boolean {
    return this.circuits.get(endpointId)?.isShut(nowMs) ?? false;
  }

  /**
   * When a delivery turned away by the circuit should look again: when the open circuit lets its
   * probe through, or, with the probe out, once the probe has answered or timed out.
   */
  nextChanceAtMs(endpointId: string, nowMs: number): number {
    const probeAnswersWithinMs = this.config.delivery.timeoutMs + PROBE_ANSWER_SLACK_MS;
    return this.circuits.get(endpointId)?.nextChanceAtMs(nowMs, probeAnswersWithinMs) ?? nowMs;
  }

  /** When the current failing streak began, or null while the endpoint is not failing. */
  failingSinceMs(endpointId: string): number | null {
    return this.circuits.get(endpointId)?.failingSinceMs() ?? null;
  }

  recordSuccess(endpointId: string, nowMs: number): void {
    this.circuit(endpointId).recordSuccess(nowMs);
  }

  recordFailure(endpointId: string, nowMs: number): void {
    const circuit = this.circuit(endpointId);
    circuit.recordFailure(nowMs);
    if (circuit.shouldDisable(nowMs)) {
      const days = Math.round(this.config.delivery.disableAfterMs / 86_400_000);
      void this.disable(endpointId, `failing for more than ${days || 'a fraction of a'} day(s)`).catch(
        (error: unknown) =>
          this.logger.warn({ err: error, endpointId }, 'could not disable failing endpoint'),
      );
    }
  }

  async disable(endpointId: string, reason: string): Promise<void> {
    await this.directory.disable(endpointId, reason);
    await this.cache.refreshEndpoint(endpointId);
    this.circuits.delete(endpointId);
    this.logger.warn({ endpointId, reason }, 'endpoint disabled');
  }

  state(endpointId: string, nowMs = Date.now()): { circuitState: CircuitState; failureCount: number } {
    const circuit = this.circuits.get(endpointId);
    if (!circuit) return { circuitState: 'closed', failureCount: 0 };
    return { circuitState: apiState(circuit.state(nowMs)), failureCount: circuit.consecutiveFailures() };
  }

  countByState(nowMs = Date.now()): Record<CircuitState, number> {
    const counts: Record<CircuitState, number> = { closed: 0, open: 0, half_open: 0 };
    for (const circuit of this.circuits.values()) counts[apiState(circuit.state(nowMs))] += 1;
    return counts;
  }

  private circuit(endpointId: string): CircuitBreaker {
    let circuit = this.circuits.get(endpointId);
    if (!circuit) {
      circuit = new CircuitBreaker({
        failureThreshold: this.config.delivery.circuitFailureThreshold,
        openMs: this.config.delivery.circuitOpenMs,
        disableAfterMs: this.config.delivery.disableAfterMs,
      });
      this.circuits.set(endpointId, circuit);
    }
    return circuit;
  }
}

function apiState(state: 'closed' | 'open' | 'half-open'): CircuitState {
  return state === 'half-open' ? 'half_open' : state;
}
