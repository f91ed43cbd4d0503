import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { CLOCK } from '../../common/clock.module';
import type { CircuitState } from '../../domain/circuit-breaker';
import type { Clock } from '../../domain/clock';
import { ReplicaRegistry, type ReplicaView } from '../../cluster/replica-registry';
import { AttemptsRepository, type LastAttempt } from '../../delivery/attempts.repository';
import { CLOSED_CIRCUIT, type CircuitReport } from '../../endpoints/circuit-report';
import { EndpointCache } from '../../endpoints/endpoint-cache';
import { EndpointHealthRepository } from '../../endpoints/endpoint-health.repository';
import {
  combineDeliveryStats,
  DeliveryStats,
  type DeliveryStatsView,
  type ReplicaDeliveryStats,
} from './delivery-stats';

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

/** What a replica's heartbeat says of its delivery work (src/delivery/delivery.module.ts reports it). */
interface DeliveryReport {
  partitions: number[];
  inFlight: number;
  unfinishedRecords: number;
  circuits: Record<CircuitState, number>;
}

/** One replica in the ops views: who it is, what it runs, what it owns and has in flight. */
export interface ReplicaRow {
  id: string;
  host: string;
  pid: number;
  roles: string[];
  startedAt: string;
  heartbeatAt: string;
  live: boolean;
  /** Serves the cluster-wide metrics. */
  exporter: boolean;
  /** Partition indexes of the deliveries topic and retry tiers it owns (delivery role). */
  partitions: number[];
  inFlight: number;
  unfinishedRecords: number;
  /** Circuits of the failing endpoints it owns, by state. */
  circuits: Record<CircuitState, number>;
  deliveredPerSecond: number;
}

export interface OpsSummaryView {
  takenAt: string;
  /** The replica that answered; every figure below covers every live replica. */
  answeredBy: string;
  deliveries: DeliveryStatsView;
  inFlight: number;
  unfinishedRecords: number;
  circuits: Record<CircuitState, number>;
  endpointCount: number;
  endpoints: EndpointRow[];
  replicas: ReplicaRow[];
}

/**
 * What the dashboard shows besides lag and dead letters, for the whole cluster whichever replica
 * answers: rates, latency and in-flight work from every live replica's heartbeat report, circuits
 * from PostgreSQL where each endpoint's owner keeps them (README decision 37).
 */
@Injectable()
export class OpsSummary implements OnModuleInit {
  constructor(
    private readonly stats: DeliveryStats,
    private readonly health: EndpointHealthRepository,
    private readonly cache: EndpointCache,
    private readonly attempts: AttemptsRepository,
    private readonly replicas: ReplicaRegistry,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.replicas.report('deliveries', () => this.stats.reportable());
  }

  async view(): Promise<OpsSummaryView> {
    const nowMs = this.clock.now();
    const [replicas, circuits] = await Promise.all([this.cluster(), this.health.circuits(nowMs)]);
    const live = replicas.filter((replica) => replica.live);
    const all = this.cache.all();
    const rows = all
      .map((endpoint) => ({ endpoint, ...(circuits.get(endpoint.id) ?? CLOSED_CIRCUIT) }))
      .sort((a, b) => rank(b) - rank(a) || b.failureCount - a.failureCount)
      .slice(0, MAX_ENDPOINTS);
    const last = await this.lastAttempts(rows.map((row) => row.endpoint.id));
    return {
      takenAt: new Date(nowMs).toISOString(),
      answeredBy: this.replicas.id,
      deliveries: combineDeliveryStats(live.flatMap((replica) => replica.deliveries ?? [])),
      inFlight: sum(live.map((replica) => replica.row.inFlight)),
      unfinishedRecords: sum(live.map((replica) => replica.row.unfinishedRecords)),
      circuits: countByState(circuits.values()),
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
      replicas: replicas.map((replica) => replica.row),
    };
  }

  /** Every replica seen lately, as its last heartbeat reported it (this one's report fresh). */
  async cluster(): Promise<Array<{ row: ReplicaRow; live: boolean; deliveries?: ReplicaDeliveryStats }>> {
    await this.replicas.beat();
    const views = await this.replicas.replicas();
    const exporter = views.find((view) => view.live)?.id;
    return views.map((view) => {
      const deliveries = (view.status.deliveries ?? undefined) as ReplicaDeliveryStats | undefined;
      return { row: toRow(view, view.id === exporter, deliveries), live: view.live, deliveries };
    });
  }

  /** The newest logged attempt per endpoint (the attempt log is written in batches, ~250 ms behind). */
  private async lastAttempts(ids: string[]): Promise<Map<string, LastAttempt>> {
    try {
      return await this.attempts.lastPerEndpoint(ids);
    } catch {
      return new Map();
    }
  }
}

function toRow(
  view: ReplicaView,
  exporter: boolean,
  deliveries: ReplicaDeliveryStats | undefined,
): ReplicaRow {
  const delivery = view.status.delivery as Partial<DeliveryReport> | undefined;
  return {
    id: view.id,
    host: view.host,
    pid: view.pid,
    roles: view.roles,
    startedAt: view.startedAt,
    heartbeatAt: view.heartbeatAt,
    live: view.live,
    exporter,
    partitions: delivery?.partitions ?? [],
    inFlight: delivery?.inFlight ?? 0,
    unfinishedRecords: delivery?.unfinishedRecords ?? 0,
    circuits: { closed: 0, open: 0, half_open: 0, ...delivery?.circuits },
    deliveredPerSecond: deliveries?.ratePerSecond.delivered ?? 0,
  };
}

function countByState(reports: Iterable<CircuitReport>): Record<CircuitState, number> {
  const counts: Record<CircuitState, number> = { closed: 0, open: 0, half_open: 0 };
  for (const report of reports) counts[report.circuitState] += 1;
  return counts;
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function rank(row: { endpoint: { enabled: boolean }; circuitState: CircuitState }): number {
  if (!row.endpoint.enabled) return 3;
  return row.circuitState === 'open' ? 2 : row.circuitState === 'half_open' ? 1 : 0;
}

function toIso(value: Date | undefined): string | null {
  return value ? new Date(value).toISOString() : null;
}

/**
 * The summary as the read-only ops token sees it: each endpoint URL cut to its origin. A URL's
 * path or query is often the receiver's credential (a Slack or Discord webhook URL, `?token=`);
 * the origin still says which receiver it is.
 */
export function withEndpointOrigins(view: OpsSummaryView): OpsSummaryView {
  return {
    ...view,
    endpoints: view.endpoints.map((endpoint) => ({ ...endpoint, url: originOf(endpoint.url) })),
  };
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}
