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
