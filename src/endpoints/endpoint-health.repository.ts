import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { CircuitSnapshot, CircuitState } from '../domain/circuit-breaker';
import type { CircuitReport } from './circuit-report';

/** A failing endpoint's streak and circuit, as its owning replica last wrote it. */
export interface StoredHealth extends CircuitSnapshot {
  endpointId: string;
}

type HealthRow = {
  endpoint_id: string;
  consecutive_failures: number;
  failing_since: Date;
  last_failure_at: Date;
  circuit_opened_at: Date | null;
};

/**
 * The only owner of `endpoint_health`: one row per failing endpoint, written by the replica that
 * owns the endpoint (src/delivery/endpoint-health.ts), read by the replica that takes it over, by
 * the same one after a restart, and by the REST API and ops views of every replica (README
 * decision 37). No row: the endpoint is not failing.
 */
@Injectable()
export class EndpointHealthRepository {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
  ) {}

  /** Writes these streaks and deletes the rows of `recovered`, in one statement each. */
  async save(failing: StoredHealth[], recovered: string[]): Promise<void> {
    if (failing.length > 0) {
      // Only for endpoints that still exist: one deleted meanwhile has no row to keep.
      await this.dataSource.query(
        `INSERT INTO endpoint_health AS current
              (endpoint_id, consecutive_failures, failing_since, last_failure_at, circuit_opened_at)
         SELECT h.id, h.failures, to_timestamp(h.since / 1000.0), to_timestamp(h.last / 1000.0),
                to_timestamp(h.opened / 1000.0)
           FROM unnest($1::uuid[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[])
                AS h (id, failures, since, last, opened)
           JOIN endpoints e ON e.id = h.id
         ON CONFLICT (endpoint_id) DO UPDATE SET
              consecutive_failures = EXCLUDED.consecutive_failures,
              failing_since = EXCLUDED.failing_since,
              last_failure_at = EXCLUDED.last_failure_at,
              circuit_opened_at = EXCLUDED.circuit_opened_at,
              updated_at = now()`,
        [
          failing.map((h) => h.endpointId),
          failing.map((h) => h.consecutiveFailures),
          failing.map((h) => h.failingSinceMs),
          failing.map((h) => h.lastFailureAtMs),
          failing.map((h) => h.openedAtMs),
        ],
      );
    }
    if (recovered.length > 0) {
      await this.dataSource.query(`DELETE FROM endpoint_health WHERE endpoint_id = ANY($1::uuid[])`, [
        recovered,
      ]);
    }
  }

  /** Every failing endpoint's stored streak (a row per failing endpoint: a small table). */
  async all(): Promise<StoredHealth[]> {
    const rows = await this.dataSource.query<HealthRow[]>(
      `SELECT endpoint_id, consecutive_failures, failing_since, last_failure_at, circuit_opened_at
         FROM endpoint_health`,
    );
    return rows.map(toStored);
  }

  /**
   * The endpoints whose circuit opened less than `openMs` ago, as their owners last wrote it, each
   * with the time (ms epoch) its circuit stays open until: what the fan-out of a process that does
   * not own them holds at once instead of sending through the deliveries topic.
   */
  async openCircuits(openMs: number): Promise<Map<string, number>> {
    const rows = await this.dataSource.query<Array<{ endpoint_id: string; until_ms: string }>>(
      `SELECT endpoint_id,
              (extract(epoch FROM circuit_opened_at) * 1000)::bigint + $1::bigint AS until_ms
         FROM endpoint_health
        WHERE circuit_opened_at > now() - $1 * interval '1 millisecond'`,
      [openMs],
    );
    return new Map(rows.map((row) => [row.endpoint_id, Number(row.until_ms)]));
  }

  /** The circuits of `endpointIds` that are failing; an endpoint missing from the map is closed. */
  async circuitsOf(endpointIds: string[], nowMs = Date.now()): Promise<Map<string, CircuitReport>> {
    if (endpointIds.length === 0) return new Map();
    const rows = await this.dataSource.query<HealthRow[]>(
      `SELECT endpoint_id, consecutive_failures, failing_since, last_failure_at, circuit_opened_at
         FROM endpoint_health WHERE endpoint_id = ANY($1::uuid[])`,
      [endpointIds],
    );
    return new Map(rows.map((row) => [row.endpoint_id, this.report(toStored(row), nowMs)]));
  }

  /** Every failing endpoint's circuit, by endpoint id. */
  async circuits(nowMs = Date.now()): Promise<Map<string, CircuitReport>> {
    return new Map((await this.all()).map((stored) => [stored.endpointId, this.report(stored, nowMs)]));
  }

  /** Circuits by state, over every endpoint: `closed` counts failing endpoints whose circuit has not opened. */
  async countByState(nowMs = Date.now()): Promise<Record<CircuitState, number>> {
    const counts: Record<CircuitState, number> = { closed: 0, open: 0, half_open: 0 };
    for (const report of (await this.circuits(nowMs)).values()) counts[report.circuitState] += 1;
    return counts;
  }

  private report(stored: StoredHealth, nowMs: number): CircuitReport {
    const { openedAtMs } = stored;
    const circuitState: CircuitState =
      openedAtMs === null
        ? 'closed'
        : nowMs - openedAtMs >= this.config.delivery.circuitOpenMs
          ? 'half_open'
          : 'open';
    return { circuitState, failureCount: stored.consecutiveFailures };
  }
}

function toStored(row: HealthRow): StoredHealth {
  return {
    endpointId: row.endpoint_id,
    consecutiveFailures: row.consecutive_failures,
    failingSinceMs: row.failing_since.getTime(),
    lastFailureAtMs: row.last_failure_at.getTime(),
    openedAtMs: row.circuit_opened_at === null ? null : row.circuit_opened_at.getTime(),
  };
}
