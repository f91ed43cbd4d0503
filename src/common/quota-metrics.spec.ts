import { AggregatorRegistry, Registry } from 'prom-client';
import { testConfig } from '../testing/fakes';
import { QuotaMetrics } from './quota-metrics';

describe('QuotaMetrics', () => {
  it('reports each configured limit once in a scrape that merges the workers', async () => {
    const config = testConfig({
      HOOKSTREAM_MAX_ENDPOINTS_PER_TENANT: '7',
      HOOKSTREAM_TENANT_INGEST_RATE: '30',
    });
    const workers = [new Registry(), new Registry()];
    const metrics = workers.map((registry) => new QuotaMetrics(registry, config));
    metrics[0].rejected('ingest_rate');
    metrics[1].rejected('ingest_rate');

    const merged = AggregatorRegistry.aggregate(await Promise.all(workers.map((r) => r.getMetricsAsJSON())));
    const limit = (await merged.getSingleMetric('hookstream_limit')!.get()).values;
    const rejections = (await merged.getSingleMetric('hookstream_quota_rejections_total')!.get()).values;

    expect(limit.find((v) => v.labels.name === 'max_endpoints_per_tenant')?.value).toBe(7);
    expect(limit.find((v) => v.labels.name === 'tenant_ingest_rate_per_second')?.value).toBe(30);
    // Counters still add up across workers.
    expect(rejections.find((v) => v.labels.quota === 'ingest_rate')?.value).toBe(2);
  });
});
