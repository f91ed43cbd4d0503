import { Inject, Injectable } from '@nestjs/common';
import { CLOCK } from '../../common/clock.module';
import type { CircuitState } from '../../domain/circuit-breaker';
import type { Clock } from '../../domain/clock';
import { AttemptsRepository, type LastAttempt } from '../../delivery/attempts.repository';
import { DeliveryEngine } from '../../delivery/delivery-engine';
import { EndpointHealth } from '../../delivery/endpoint-health';
import { EndpointCache } from '../../endpoints/endpoint-cache';
import { ConsumerRunner } from '../../kafka/consumer-runner';
import { DeliveryStats, type DeliveryStatsView } from './delivery-stats';

/** How many endpoints the dashboard table lists: the unhealthy first. */
const MAX_ENDPOINTS = 200;

export interface EndpointRow {
  id: string;
  url: string;
  tenantId: string;
  enabled: boolean;
  circuitState: CircuitState;
  failureCount: number;
  lastStatus: number | null;
  lastOutcome: string | null;
  lastAttemptAt: string | null;
}

export interface OpsSummaryView {
  takenAt: string;
  deliveries: DeliveryStatsView;
  inFlight: number;
  unfinishedRecords: number;
  circuits: Record<CircuitState, number>;
  endpointCount: number;
  endpoints: EndpointRow[];
}

/** What the dashboard shows besides lag and dead letters, from this process's engine and cache. */
@Injectable()
export class OpsSummary {
  constructor(
    private readonly stats: DeliveryStats,
    private readonly engine: DeliveryEngine,
    private readonly consumers: ConsumerRunner,
    private readonly health: EndpointHealth,
    private readonly cache: EndpointCache,
    private readonly attempts: AttemptsRepository,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async view(): Promise<OpsSummaryView> {
    const nowMs = this.clock.now();
    const all = this.cache.all();
    const rows = all
      .map((endpoint) => ({ endpoint, ...this.health.circuitOf(endpoint.id) }))
      .sort((a, b) => rank(b) - rank(a) || b.failureCount - a.failureCount)
      .slice(0, MAX_ENDPOINTS);
    const last = await this.lastAttempts(rows.map((row) => row.endpoint.id));
    return {
      takenAt: new Date(nowMs).toISOString(),
      deliveries: await this.stats.view(),
      inFlight: this.engine.inFlight(),
      unfinishedRecords: this.consumers.inFlight(),
      circuits: this.health.countByState(),
      endpointCount: all.length,
      endpoints: rows.map(({ endpoint, circuitState, failureCount }) => ({
        id: endpoint.id,
        url: endpoint.url,
        tenantId: endpoint.tenantId,
        enabled: endpoint.enabled,
        circuitState,
        failureCount,
        lastStatus: last.get(endpoint.id)?.statusCode ?? null,
        lastOutcome: last.get(endpoint.id)?.outcome ?? null,
        lastAttemptAt: toIso(last.get(endpoint.id)?.attemptedAt),
      })),
    };
  }

  /** The newest logged attempt per endpoint (the attempt log is written in batches, ~250 ms behind). */
  private async lastAttempts(ids: string[]): Promise<Map<string, LastAttempt>> {
    try {
      return await this.attempts.lastPerEndpoint(ids);
    } catch {
      // PostgreSQL down: the table still shows circuits from memory, without last statuses.
      return new Map();
    }
  }
}

function rank(row: { endpoint: { enabled: boolean }; circuitState: CircuitState }): number {
  if (!row.endpoint.enabled) return 3;
  return row.circuitState === 'open' ? 2 : row.circuitState === 'half_open' ? 1 : 0;
}

function toIso(value: Date | undefined): string | null {
  return value ? new Date(value).toISOString() : null;
}
