import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CLOCK } from '../common/clock.module';
import { LOGGER } from '../common/logger.module';
import { ThrottledWarning } from '../common/throttled-warning';
import { CircuitBreaker, type CircuitState } from '../domain/circuit-breaker';
import type { Clock } from '../domain/clock';
import { EndpointCache } from '../endpoints/endpoint-cache';
import { EndpointDirectory } from '../endpoints/endpoint-directory';
import { EndpointHealthRepository, type StoredHealth } from '../endpoints/endpoint-health.repository';

/** A probe's outcome is recorded a little after its HTTP timeout fires. */
const PROBE_ANSWER_SLACK_MS = 1_000;

/** How often circuits of endpoints that are gone are forgotten. */
const FORGET_EVERY_MS = 60_000;

/** How often changed circuits are written to PostgreSQL. */
const WRITE_EVERY_MS = 250;

/**
 * A circuit per failing endpoint this replica owns; an endpoint failing for too long gets disabled.
 * Only failing endpoints have an entry, and deleted ones are forgotten, so the map is bounded by
 * the endpoints failing now.
 *
 * Each change is written to `endpoint_health` within {@link WRITE_EVERY_MS} (and at once when a
 * partition is handed over), so the replica that takes an endpoint over, or this one after a
 * restart, picks up its open circuit and the start of its failing streak (README decision 37):
 * an endpoint behind a service that restarts daily is still disabled after five days of failing.
 */
@Injectable()
export class EndpointHealth implements OnModuleInit, OnModuleDestroy {
  private readonly circuits = new Map<string, CircuitBreaker>();
  /** Endpoints whose circuit changed (or went) since the last write. */
  private readonly changed = new Set<string>();
  private writing: Promise<void> | null = null;
  private forgetTimer?: NodeJS.Timeout;
  private writeTimer?: NodeJS.Timeout;
  private readonly logger: Logger;
  private readonly writeFailed: ThrottledWarning;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(EndpointDirectory) private readonly directory: Pick<EndpointDirectory, 'disable'>,
    @Inject(EndpointCache) private readonly cache: Pick<EndpointCache, 'refreshEndpoint' | 'get'>,
    @Inject(EndpointHealthRepository)
    private readonly store: Pick<EndpointHealthRepository, 'save' | 'all'>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.logger = logger.child({ component: 'endpoint-health' });
    this.writeFailed = new ThrottledWarning(this.logger, 'could not write endpoint circuits; retrying');
  }

  onModuleInit(): void {
    this.forgetTimer = setInterval(
      () => this.forget((id) => this.cache.get(id) !== undefined),
      FORGET_EVERY_MS,
    );
    this.forgetTimer.unref();
    this.writeTimer = setInterval(
      () => void this.write().catch((error: unknown) => this.writeFailed.warn(error)),
      WRITE_EVERY_MS,
    );
    this.writeTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.forgetTimer);
    clearInterval(this.writeTimer);
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
    // Closed with no failures is what a missing circuit (and a missing row) means.
    if (this.circuits.delete(endpointId)) this.changed.add(endpointId);
  }

  /** Records a failed attempt; true when the endpoint has now been failing past HOOKSTREAM_DISABLE_AFTER. */
  recordFailure(endpointId: string, nowMs: number): boolean {
    const circuit = this.circuit(endpointId);
    circuit.recordFailure(nowMs);
    this.changed.add(endpointId);
    return circuit.shouldDisable(nowMs);
  }

  /** Forgets the circuits of endpoints that no longer exist (or this process no longer knows). */
  forget(exists: (endpointId: string) => boolean): number {
    let forgotten = 0;
    for (const endpointId of this.circuits.keys()) {
      if (exists(endpointId)) continue;
      this.circuits.delete(endpointId);
      this.changed.delete(endpointId);
      forgotten += 1;
    }
    return forgotten;
  }

  /**
   * Takes over the stored circuits of the endpoints this replica now owns (`owns`), for the ones it
   * holds none of: where another replica, or this one before a restart, left them.
   */
  async adopt(owns: (endpointId: string) => boolean): Promise<number> {
    let stored: StoredHealth[];
    try {
      stored = await this.store.all();
    } catch (error) {
      // PostgreSQL down: the circuits start closed, and the first failures open them again.
      this.logger.warn({ err: error }, 'could not read the circuits of the endpoints taken over');
      return 0;
    }
    let adopted = 0;
    for (const health of stored) {
      if (!owns(health.endpointId) || this.circuits.has(health.endpointId)) continue;
      this.circuit(health.endpointId).restore(health);
      adopted += 1;
    }
    if (adopted > 0) this.logger.info({ adopted }, 'took over the circuits of failing endpoints');
    return adopted;
  }

  /**
   * Writes what changed now (before a partition is handed over). Never rejects: circuits are kept
   * on a best-effort basis, and a handover that waited on them would stall its partition. What a
   * failed write held is written with the next one; the new owner meanwhile starts those circuits
   * closed.
   */
  async flush(): Promise<void> {
    try {
      await this.writing?.catch(() => undefined);
      await this.write();
    } catch (error) {
      this.logger.warn(
        { err: error },
        'circuits not stored before a handover; their new owner starts them closed',
      );
    }
  }

  /** Why an endpoint failing past HOOKSTREAM_DISABLE_AFTER is disabled. */
  failingTooLongReason(): string {
    const days = Math.round(this.config.delivery.disableAfterMs / 86_400_000);
    return `failing for more than ${days || 'a fraction of a'} day(s)`;
  }

  /**
   * Disables the endpoint; true only for the call that changed it (not for one already disabled,
   * by another replica or an earlier attempt), so its tenant is told once.
   */
  async disable(endpointId: string, reason: string): Promise<boolean> {
    const changed = await this.directory.disable(endpointId, reason);
    await this.cache.refreshEndpoint(endpointId);
    this.circuits.delete(endpointId);
    this.changed.add(endpointId);
    if (changed) this.logger.warn({ endpointId, reason }, 'endpoint disabled');
    return changed;
  }

  /** The failing streak while the endpoint's circuit is open (or half-open), else null. */
  openStreak(
    endpointId: string,
    nowMs: number,
  ): { consecutiveFailures: number; failingSinceMs: number } | null {
    const circuit = this.circuits.get(endpointId);
    const failingSinceMs = circuit?.failingSinceMs() ?? null;
    if (!circuit || failingSinceMs === null || circuit.state(nowMs) === 'closed') return null;
    return { consecutiveFailures: circuit.consecutiveFailures(), failingSinceMs };
  }

  /** The circuits this replica holds, by state. */
  countByState(): Record<CircuitState, number> {
    const nowMs = this.clock.now();
    const counts: Record<CircuitState, number> = { closed: 0, open: 0, half_open: 0 };
    for (const circuit of this.circuits.values()) counts[circuit.state(nowMs)] += 1;
    return counts;
  }

  /** One write at a time; what changes meanwhile goes in the next. A failed write is retried. */
  private write(): Promise<void> {
    if (this.writing || this.changed.size === 0) return this.writing ?? Promise.resolve();
    const ids = [...this.changed];
    this.changed.clear();
    const failing: StoredHealth[] = [];
    const recovered: string[] = [];
    for (const endpointId of ids) {
      const snapshot = this.circuits.get(endpointId)?.snapshot() ?? null;
      if (snapshot) failing.push({ endpointId, ...snapshot });
      else recovered.push(endpointId);
    }
    this.writing = this.store
      .save(failing, recovered)
      .catch((error: unknown) => {
        for (const endpointId of ids) this.changed.add(endpointId);
        throw error;
      })
      .finally(() => (this.writing = null));
    return this.writing;
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
