import { AggregatorRegistry } from 'prom-client';
import type { MetricsJson } from './worker-protocol';

/** Metric types whose values only grow over a process's life: a process's last values stay in a sum. */
const MONOTONIC = new Set(['counter', 'histogram']);
/** Gone workers' counters are summed into one snapshot once there are more than this many. */
const GONE_KEPT = 4;

/**
 * The supervisor answers /metrics with the sum of its workers' series (prom-client's aggregation).
 * Summed over the workers that answered, a counter fell whenever one died or missed a scrape, and
 * Prometheus read the fall as a counter reset: `increase()` counted everything again, and alerts
 * on it fired with nothing new (a critical one among them). This keeps every worker's last answer:
 * a worker silent now adds its last counters and histograms, and one that is gone adds them for
 * good, so its successor, counting from 0, adds to them rather than replacing them. Gauges are
 * left out: a silent worker's last gauge says nothing about now.
 */
export class WorkerCounters {
  private readonly latest = new Map<number, MetricsJson>();
  private gone: MetricsJson[] = [];

  /** What to sum for a scrape: the answers, and the last counters of workers silent now or gone. */
  async toSum(
    answers: Map<number, MetricsJson>,
    alive: (workerId: number) => boolean,
  ): Promise<MetricsJson[]> {
    for (const [workerId, own] of answers) this.latest.set(workerId, own);
    const silent: MetricsJson[] = [];
    for (const [workerId, own] of this.latest) {
      if (answers.has(workerId)) continue;
      if (alive(workerId)) {
        silent.push(monotonicOnly(own));
      } else {
        this.gone.push(monotonicOnly(own));
        this.latest.delete(workerId);
      }
    }
    if (this.gone.length > GONE_KEPT) {
      this.gone = [await AggregatorRegistry.aggregate(this.gone).getMetricsAsJSON()];
    }
    return [...answers.values(), ...silent, ...this.gone];
  }
}

function monotonicOnly(metrics: MetricsJson): MetricsJson {
  return metrics.filter((metric) => MONOTONIC.has(String(metric.type)));
}
