import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { CircuitBreaker, type CircuitState } from '../domain/circuit-breaker';
import type { Clock } from '../domain/clock';
import type { CircuitReport, CircuitReporter } from '../endpoints/circuit-report';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { EndpointDirectory } from '../endpoints/endpoint-directory';

/** A probe's outcome is recorded a little after its HTTP timeout fires. */
const PROBE_ANSWER_SLACK_MS = 1_000;

/** How often circuits of endpoints that are gone are forgotten. */
const FORGET_EVERY_MS = 60_000;

/**
 * A circuit per failing endpoint, as this process sees it; an endpoint failing for too long gets
 * disabled. Only failing endpoints have an entry, and deleted ones are forgotten, so the map is
 * bounded by the endpoints failing now.
 */
@Injectable()
export class EndpointHealth implements CircuitReporter, OnModuleInit, OnModuleDestroy {
  private readonly circuits = new Map<string, CircuitBreaker>();
  private forgetTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(EndpointDirectory) private readonly directory: Pick<EndpointDirectory, 'disable'>,
    @Inject(EndpointCache) private readonly cache: Pick<EndpointCache, 'refreshEndpoint' | 'get'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** A circuit exists only while its endpoint is failing: a closed one is forgotten (memory). */
  onModuleInit(): void {
    this.forgetTimer = setInterval(
      () => this.forget((id) => this.cache.get(id) !== undefined),
      FORGET_EVERY_MS,
    );
    this.forgetTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.forgetTimer);
  }

  canAttempt(endpointId: string, nowMs: number): boolean {
    return this.circuits.get(endpointId)?.canAttempt(nowMs) ?? true;
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

  recordSuccess(endpointId: string, _nowMs: number): void {
    // Closed with no failures is what a missing circuit means.
    this.circuits.delete(endpointId);
  }

  /** Forgets the circuits of endpoints that no longer exist (or this process no longer knows). */
  forget(exists: (endpointId: string) => boolean): number {
    let forgotten = 0;
    for (const endpointId of this.circuits.keys()) {
      if (exists(endpointId)) continue;
      this.circuits.delete(endpointId);
      forgotten += 1;
    }
    return forgotten;
  }

  /** Records a failed attempt; true when the endpoint has now been failing past HOOKSTREAM_DISABLE_AFTER. */
  recordFailure(endpointId: string, nowMs: number): boolean {
    const circuit = this.circuit(endpointId);
    circuit.recordFailure(nowMs);
    return circuit.shouldDisable(nowMs);
  }

  /** Why an endpoint failing past HOOKSTREAM_DISABLE_AFTER is disabled. */
  failingTooLongReason(): string {
    const days = Math.round(this.config.delivery.disableAfterMs / 86_400_000);
    return `failing for more than ${days || 'a fraction of a'} day(s)`;
  }

  async disable(endpointId: string, reason: string): Promise<void> {
    await this.directory.disable(endpointId, reason);
    await this.cache.refreshEndpoint(endpointId);
    this.circuits.delete(endpointId);
    this.logger.warn({ endpointId, reason }, 'endpoint disabled');
  }

  circuitOf(endpointId: string): CircuitReport {
    const circuit = this.circuits.get(endpointId);
    if (!circuit) return { circuitState: 'closed', failureCount: 0 };
    return { circuitState: circuit.state(this.clock.now()), failureCount: circuit.consecutiveFailures() };
  }

  countByState(): Record<CircuitState, number> {
    const nowMs = this.clock.now();
    const counts: Record<CircuitState, number> = { closed: 0, open: 0, half_open: 0 };
    for (const circuit of this.circuits.values()) counts[circuit.state(nowMs)] += 1;
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
