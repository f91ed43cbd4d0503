import { endpointWindowStats, type AttemptAggregate } from './endpoint-stats';

const WINDOW = { startMs: 1_000_000, bucketMs: 300_000, bucketCount: 3 };

describe('endpointWindowStats', () => {
  it('gives each endpoint its totals, success rate and every bucket, zeros where nothing was attempted', () => {
    const rows: AttemptAggregate[] = [
      { endpointId: 'a', bucket: null, attempts: 4, delivered: 3, p95LatencyMs: 120 },
      { endpointId: 'a', bucket: 0, attempts: 1, delivered: 0, p95LatencyMs: 15_000 },
      { endpointId: 'a', bucket: 2, attempts: 3, delivered: 3, p95LatencyMs: 40 },
      { endpointId: 'other', bucket: null, attempts: 9, delivered: 9, p95LatencyMs: 5 },
    ];
    const [a] = endpointWindowStats(['a'], rows, WINDOW);
    expect(a).toEqual({
      endpointId: 'a',
      attempts: 4,
      delivered: 3,
      failed: 1,
      successRate: 0.75,
      p95LatencyMs: 120,
      buckets: [
        { startMs: 1_000_000, attempts: 1, delivered: 0, p95LatencyMs: 15_000 },
        { startMs: 1_300_000, attempts: 0, delivered: 0, p95LatencyMs: null },
        { startMs: 1_600_000, attempts: 3, delivered: 3, p95LatencyMs: 40 },
      ],
    });
  });

  it('has no success rate for an endpoint nothing was attempted at', () => {
    const [idle] = endpointWindowStats(['idle'], [], WINDOW);
    expect(idle.successRate).toBeNull();
    expect(idle.p95LatencyMs).toBeNull();
    expect(idle.buckets.map((bucket) => bucket.attempts)).toEqual([0, 0, 0]);
  });
});
