/**
 * Per-endpoint health over a recent window, for the tenant portal: success rate and p95 latency
 * overall and per bucket (small charts), from rows the attempt log aggregates in SQL.
 */

/** One aggregate row: `bucket` null for the whole window, else the bucket index from the window's start. */
export interface AttemptAggregate {
  endpointId: string;
  bucket: number | null;
  attempts: number;
  delivered: number;
  p95LatencyMs: number | null;
}

export interface StatsBucket {
  /** Start of the bucket, ms since the epoch. */
  startMs: number;
  attempts: number;
  delivered: number;
  p95LatencyMs: number | null;
}

export interface EndpointWindowStats {
  endpointId: string;
  attempts: number;
  delivered: number;
  failed: number;
  /** delivered / attempts, or null when nothing was attempted. */
  successRate: number | null;
  p95LatencyMs: number | null;
  buckets: StatsBucket[];
}

export interface StatsWindow {
  startMs: number;
  bucketMs: number;
  bucketCount: number;
}

/** One entry per endpoint of `endpointIds`, every bucket present (zeros where nothing happened). */
export function endpointWindowStats(
  endpointIds: string[],
  rows: AttemptAggregate[],
  window: StatsWindow,
): EndpointWindowStats[] {
  return endpointIds.map((endpointId) => {
    const own = rows.filter((row) => row.endpointId === endpointId);
    const total = own.find((row) => row.bucket === null);
    const buckets = Array.from({ length: window.bucketCount }, (_, index): StatsBucket => {
      const row = own.find((candidate) => candidate.bucket === index);
      return {
        startMs: window.startMs + index * window.bucketMs,
        attempts: row?.attempts ?? 0,
        delivered: row?.delivered ?? 0,
        p95LatencyMs: row?.p95LatencyMs ?? null,
      };
    });
    const attempts = total?.attempts ?? 0;
    const delivered = total?.delivered ?? 0;
    return {
      endpointId,
      attempts,
      delivered,
      failed: attempts - delivered,
      successRate: attempts === 0 ? null : delivered / attempts,
      p95LatencyMs: total?.p95LatencyMs ?? null,
      buckets,
    };
  });
}
