import { Gauge, Registry } from 'prom-client';
import { clusterSeries } from './metrics.module';

describe('clusterSeries', () => {
  it('leaves out only the series whose collector fails, and names it', async () => {
    const registry = new Registry();
    new Gauge({
      name: 'from_kafka',
      help: 'answers',
      registers: [registry],
      collect() {
        this.set(7);
      },
    });
    new Gauge({
      name: 'from_postgres',
      help: 'PostgreSQL is down',
      registers: [registry],
      async collect() {
        await Promise.resolve();
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      },
    });
    const failed: string[] = [];
    const text = await clusterSeries(registry, (metric) => failed.push(metric));
    expect(text).toContain('from_kafka 7');
    expect(text).not.toContain('from_postgres');
    expect(failed).toEqual(['from_postgres']);
  });
});
