import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from '../../common/metrics.registry';
import { bucketDelta, histogramQuantile, ratesPerSecond, type CounterSample } from './window-stats';

const SAMPLE_EVERY_MS = 1_000;
const RATE_WINDOW_MS = 5_000;
const LATENCY_WINDOW_MS = 30_000;

export interface DeliveryStatsView {
  /** Per-second rate of each delivery outcome over the last few seconds. */
  ratePerSecond: Record<string, number>;
  /** Cumulative outcome counts since this process started. */
  totals: Record<string, number>;
  /** HTTP attempt latency (seconds) over the last 30 s; null without attempts. */
  attemptLatencySeconds: { p50: number | null; p99: number | null };
}

/** One replica's delivery figures as its heartbeat carries them (src/ops/summary/ops-summary.ts adds them up). */
export interface ReplicaDeliveryStats {
  ratePerSecond: Record<string, number>;
  totals: Record<string, number>;
  latencyBuckets: Array<{ le: number | null; count: number }>;
}

/** Every replica's figures added up: rates and totals summed, quantiles from the summed buckets. */
export function combineDeliveryStats(reports: ReplicaDeliveryStats[]): DeliveryStatsView {
  const ratePerSecond: Record<string, number> = {};
  const totals: Record<string, number> = {};
  const buckets = new Map<number, number>();
  for (const report of reports) {
    for (const [outcome, rate] of Object.entries(report.ratePerSecond)) {
      ratePerSecond[outcome] = (ratePerSecond[outcome] ?? 0) + rate;
    }
    for (const [outcome, total] of Object.entries(report.totals))
      totals[outcome] = (totals[outcome] ?? 0) + total;
    for (const { le, count } of report.latencyBuckets) {
      const bound = le ?? Infinity;
      buckets.set(bound, (buckets.get(bound) ?? 0) + count);
    }
  }
  const cumulative = [...buckets].map(([le, count]) => ({ le, count }));
  return {
    ratePerSecond,
    totals,
    attemptLatencySeconds: {
      p50: histogramQuantile(0.5, cumulative),
      p99: histogramQuantile(0.99, cumulative),
    },
  };
}

/**
 * Samples this process's delivery counters once a second, so the dashboard gets rates and latency
 * quantiles without a Prometheus server. Reads the same metrics `/metrics` exposes.
 */
@Injectable()
export class DeliveryStats implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly samples: CounterSample[] = [];
  private timer?: NodeJS.Timeout;

  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sample(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async view(): Promise<DeliveryStatsView> {
    const now = await this.read();
    const within = (ms: number) => this.samples.find((s) => s.atMs >= now.atMs - ms) ?? now;
    const latency = bucketDelta(within(LATENCY_WINDOW_MS), now);
    return {
      ratePerSecond: ratesPerSecond(within(RATE_WINDOW_MS), now),
      totals: now.outcomes,
      attemptLatencySeconds: {
        p50: histogramQuantile(0.5, latency),
        p99: histogramQuantile(0.99, latency),
      },
    };
  }

  /**
   * What this replica reports at each heartbeat (plain JSON), from the samples already taken: its
   * outcome rates and totals, and its attempt-latency buckets over the latency window, so the
   * cluster's quantiles can be computed from every replica's buckets.
   */
  reportable(): ReplicaDeliveryStats | null {
    const now = this.samples[this.samples.length - 1];
    if (!now) return null;
    const within = (ms: number) => this.samples.find((s) => s.atMs >= now.atMs - ms) ?? now;
    return {
      ratePerSecond: ratesPerSecond(within(RATE_WINDOW_MS), now),
      totals: now.outcomes,
      // +Inf is not JSON: the highest bucket is carried as null.
      latencyBuckets: bucketDelta(within(LATENCY_WINDOW_MS), now).map(({ le, count }) => ({
        le: Number.isFinite(le) ? le : null,
        count,
      })),
    };
  }

  private async sample(): Promise<void> {
    this.samples.push(await this.read());
    const cutoff = Date.now() - LATENCY_WINDOW_MS - 2 * SAMPLE_EVERY_MS;
    while (this.samples.length > 0 && this.samples[0].atMs < cutoff) this.samples.shift();
  }

  private async read(): Promise<CounterSample> {
    const outcomes: Record<string, number> = {};
    const counter = await this.registry.getSingleMetric('hookstream_deliveries_total')?.get();
    for (const value of counter?.values ?? []) {
      const outcome = String(value.labels.outcome ?? 'unknown');
      outcomes[outcome] = (outcomes[outcome] ?? 0) + value.value;
    }
    // Summed over the `result` label: all attempts, delivered or failed.
    const byBound = new Map<number, number>();
    const histogram = await this.registry.getSingleMetric('hookstream_attempt_duration_seconds')?.get();
    for (const value of histogram?.values ?? []) {
      const { metricName } = value as { metricName?: string };
      if (metricName !== 'hookstream_attempt_duration_seconds_bucket') continue;
      const le = value.labels.le === '+Inf' ? Infinity : Number(value.labels.le);
      byBound.set(le, (byBound.get(le) ?? 0) + value.value);
    }
    const buckets = [...byBound].map(([le, count]) => ({ le, count }));
    return { atMs: Date.now(), outcomes, buckets };
  }
}
