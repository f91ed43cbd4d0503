import { bucketDelta, histogramQuantile, ratesPerSecond, type CounterSample } from './window-stats';

const sample = (atMs: number, outcomes: Record<string, number>, counts: number[]): CounterSample => ({
  atMs,
  outcomes,
  buckets: [0.1, 1, Infinity].map((le, i) => ({ le, count: counts[i] })),
});

describe('window stats', () => {
  it('computes per-second rates per outcome, new outcomes counting from zero', () => {
    const rates = ratesPerSecond(
      sample(0, { delivered: 10 }, [0, 0, 0]),
      sample(2000, { delivered: 30, retried: 4 }, [0, 0, 0]),
    );
    expect(rates).toEqual({ delivered: 10, retried: 2 });
  });

  it('interpolates quantiles inside buckets like histogram_quantile', () => {
    // 10 observations: 5 in (0, 0.1], 5 in (0.1, 1].
    const buckets = [
      { le: 0.1, count: 5 },
      { le: 1, count: 10 },
      { le: Infinity, count: 10 },
    ];
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.1);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.1 + 0.9 * 0.98);
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.05);
  });

  it('answers null without observations and the highest finite bound for the +Inf bucket', () => {
    expect(histogramQuantile(0.5, [{ le: Infinity, count: 0 }])).toBeNull();
    expect(
      histogramQuantile(0.99, [
        { le: 1, count: 1 },
        { le: Infinity, count: 10 },
      ]),
    ).toBe(1);
  });

  it('takes bucket deltas between samples', () => {
    expect(bucketDelta(sample(0, {}, [1, 2, 3]), sample(1, {}, [4, 6, 9]))).toEqual([
      { le: 0.1, count: 3 },
      { le: 1, count: 4 },
      { le: Infinity, count: 6 },
    ]);
  });
});
