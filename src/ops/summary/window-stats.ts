/** Pure rate and quantile arithmetic over counter samples, as Prometheus' rate() and histogram_quantile(). */

export interface CounterSample {
  atMs: number;
  /** Cumulative count per outcome label. */
  outcomes: Record<string, number>;
  /** Cumulative histogram buckets: upper bound (Infinity for +Inf) -> count. */
  buckets: Array<{ le: number; count: number }>;
}

/** Per-second rate of each outcome between the oldest and newest sample. */
export function ratesPerSecond(oldest: CounterSample, newest: CounterSample): Record<string, number> {
  const seconds = (newest.atMs - oldest.atMs) / 1000;
  const rates: Record<string, number> = {};
  for (const [outcome, count] of Object.entries(newest.outcomes)) {
    const delta = count - (oldest.outcomes[outcome] ?? 0);
    rates[outcome] = seconds > 0 ? Math.max(0, delta) / seconds : 0;
  }
  return rates;
}

/** Bucket counts that arrived between two samples. */
export function bucketDelta(
  oldest: CounterSample,
  newest: CounterSample,
): Array<{ le: number; count: number }> {
  const before = new Map(oldest.buckets.map((b) => [b.le, b.count]));
  return newest.buckets.map((b) => ({ le: b.le, count: Math.max(0, b.count - (before.get(b.le) ?? 0)) }));
}

/**
 * The q-quantile of cumulative buckets, interpolating linearly inside the bucket as Prometheus'
 * histogram_quantile does; null when there are no observations. In the +Inf bucket, the highest
 * finite bound is the answer.
 */
export function histogramQuantile(
  q: number,
  cumulative: Array<{ le: number; count: number }>,
): number | null {
  const buckets = [...cumulative].sort((a, b) => a.le - b.le);
  const total = buckets[buckets.length - 1]?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      const fraction = inBucket === 0 ? 0 : (rank - lowerCount) / inBucket;
      return lowerBound + (bucket.le - lowerBound) * fraction;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}
