import { AggregatorRegistry, Registry } from 'prom-client';
import { testConfig } from '../testing/fakes';
import { QuotaMetrics, REFUSAL_LOG_EVERY_MS } from './quota-metrics';

describe('QuotaMetrics', () => {
  it('reports each configured limit once in a scrape that merges the workers', async () => {
    const config = testConfig({
      HOOKSTREAM_MAX_ENDPOINTS_PER_TENANT: '7',
      HOOKSTREAM_TENANT_INGEST_RATE: '30',
    });
    const workers = [new Registry(), new Registry()];
    const metrics = workers.map((registry) => new QuotaMetrics(registry, config));
    metrics[0].rejected('ingest_rate', 't1');
    metrics[1].rejected('ingest_rate', 't1');

    const merged = AggregatorRegistry.aggregate(await Promise.all(workers.map((r) => r.getMetricsAsJSON())));
    const limit = (await merged.getSingleMetric('hookstream_limit')!.get()).values;
    const rejections = (await merged.getSingleMetric('hookstream_quota_rejections_total')!.get()).values;

    expect(limit.find((v) => v.labels.name === 'max_endpoints_per_tenant')?.value).toBe(7);
    expect(limit.find((v) => v.labels.name === 'tenant_ingest_rate_per_second')?.value).toBe(30);
    // Counters still add up across workers.
    expect(rejections.find((v) => v.labels.quota === 'ingest_rate')?.value).toBe(2);
  });

  describe('naming the refused tenant', () => {
    const setup = () => {
      const lines: Array<Record<string, unknown>> = [];
      const logger = { warn: (fields: Record<string, unknown>) => void lines.push(fields) };
      return { lines, metrics: new QuotaMetrics(new Registry(), testConfig(), logger) };
    };

    it('in a line at once, then at most once a window, with the refusals since the last line', () => {
      const { lines, metrics } = setup();
      for (let i = 0; i < 500; i += 1) metrics.rejected('ingest_rate', 'flooder', 1_000 + i);
      expect(lines).toEqual([{ tenantId: 'flooder', quota: 'ingest_rate', refused: 1 }]);
      metrics.rejected('ingest_rate', 'flooder', 1_000 + REFUSAL_LOG_EVERY_MS);
      expect(lines[1]).toEqual({ tenantId: 'flooder', quota: 'ingest_rate', refused: 500 });
    });

    it('per tenant and per quota', () => {
      const { lines, metrics } = setup();
      metrics.rejected('ingest_rate', 'a', 0);
      metrics.rejected('ingest_rate', 'b', 1);
      metrics.rejected('endpoints', 'a', 2);
      metrics.rejected('ingest_rate', 'a', 3);
      expect(lines.map((line) => `${String(line.quota)}/${String(line.tenantId)}`)).toEqual([
        'ingest_rate/a',
        'ingest_rate/b',
        'endpoints/a',
      ]);
    });

    it('remembers at most 10,000 tenants: past that the oldest is forgotten and named again sooner', () => {
      const { lines, metrics } = setup();
      for (let i = 0; i <= 10_000; i += 1) metrics.rejected('ingest_rate', `t${i}`, i);
      expect(lines).toHaveLength(10_001);
      // t0 was forgotten to make room: its next refusal is a line, not a count.
      metrics.rejected('ingest_rate', 't0', 20_000);
      expect(lines).toHaveLength(10_002);
      // t5000 is still remembered: counted, no line.
      metrics.rejected('ingest_rate', 't5000', 20_001);
      expect(lines).toHaveLength(10_002);
    });
  });
});
