import { Registry } from 'prom-client';
import type { ReplicaView } from '../../cluster/replica-registry';
import type { HorizonHolder } from '../../domain/feed-horizon';
import { FakeClock, silentLogger, testConfig } from '../../testing/fakes';
import { ClusterGauges } from './cluster-gauges';
import { clusterSeries } from './metrics.module';

const replica = (id: string, live: boolean, roles: string[]): ReplicaView => ({
  id,
  host: 'host',
  pid: 1,
  roles,
  startedAt: '2026-12-02T12:00:00.000Z',
  heartbeatAt: '2026-12-02T12:00:00.000Z',
  live,
  status: {},
});

/** PostgreSQL as the four readings see it: answers with `held`, or fails every query. */
function database() {
  const state = { down: false, reads: 0, held: 3, horizon: null as HorizonHolder | null };
  const query = async <T>(value: () => T): Promise<T> => {
    state.reads += 1;
    await Promise.resolve();
    if (state.down) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return value();
  };
  return {
    state,
    health: { countByState: () => query(() => ({ closed: 1, open: 2, half_open: 0 })) },
    held: { count: () => query(() => state.held) },
    horizon: { holder: () => query(() => state.horizon) },
    replicas: (exporter: () => boolean) => ({
      isExporter: exporter,
      replicas: () =>
        query(() => [
          replica('a', true, ['api', 'delivery']),
          replica('b', true, ['delivery']),
          replica('c', false, ['fanout']),
        ]),
    }),
  };
}

function gauges(options: { exporter?: () => boolean } = {}) {
  const db = database();
  const clock = new FakeClock();
  const registry = new Registry();
  const cluster = new Registry();
  const gauges = new ClusterGauges(
    testConfig({ HOOKSTREAM_GAUGE_REFRESH: '15s' }),
    db.health,
    db.held,
    { countByState: async () => [{ state: 'running' as const, count: 1 }] },
    db.replicas(options.exporter ?? (() => true)),
    { ageSeconds: () => 2.5 },
    db.horizon,
    clock,
    registry,
    cluster,
    silentLogger,
  );
  const failedCollects: string[] = [];
  const scrape = async () =>
    `${await registry.metrics()}${await clusterSeries(cluster, (metric) => failedCollects.push(metric))}`;
  return { db, clock, gauges, scrape, failedCollects };
}

describe('ClusterGauges', () => {
  it('serves the values last read, with their age, and reads PostgreSQL only when a refresh is due', async () => {
    const { db, clock, gauges: cached, scrape } = gauges();
    await cached.refreshDue();
    expect(db.state.reads).toBe(4);
    clock.advance(4_000);
    const text = await scrape();
    expect(db.state.reads).toBe(4);
    expect(text).toMatch(/^hookstream_held_deliveries 3$/m);
    expect(text).toMatch(/^hookstream_endpoint_circuits\{state="open"\} 2$/m);
    expect(text).toMatch(/^hookstream_replicas\{role="delivery"\} 2$/m);
    expect(text).toMatch(/^hookstream_replicas\{role="api"\} 1$/m);
    expect(text).not.toMatch(/role="fanout"/);
    expect(text).toMatch(/^hookstream_gauge_refresh_age_seconds\{gauge="hookstream_held_deliveries"\} 4$/m);
    expect(text).toMatch(/^hookstream_gauge_refresh_age_seconds\{gauge="kafka_consumergroup_lag"\} 2.5$/m);

    await cached.refreshDue(); // 4 s after the last read: not due
    expect(db.state.reads).toBe(4);
    clock.advance(11_000);
    db.state.held = 5;
    await cached.refreshDue();
    expect(await scrape()).toMatch(/^hookstream_held_deliveries 5$/m);
  });

  it('keeps the last values while PostgreSQL is down, counting each failed read and showing the age grow', async () => {
    const { db, clock, gauges: cached, scrape, failedCollects } = gauges();
    await cached.refreshDue();
    db.state.down = true;
    for (let i = 0; i < 3; i++) {
      clock.advance(15_000);
      await cached.refreshDue();
    }
    const text = await scrape();
    expect(text).toMatch(/^hookstream_held_deliveries 3$/m);
    expect(text).toMatch(/^hookstream_replicas\{role="delivery"\} 2$/m);
    expect(text).toMatch(/^hookstream_gauge_refresh_age_seconds\{gauge="hookstream_replicas"\} 45$/m);
    expect(text).toMatch(
      /^hookstream_gauge_refresh_failures_total\{gauge="hookstream_endpoint_circuits"\} 3$/m,
    );
    expect(failedCollects).toEqual([]);

    db.state.down = false;
    clock.advance(15_000);
    await cached.refreshDue();
    expect(await scrape()).toMatch(
      /^hookstream_gauge_refresh_age_seconds\{gauge="hookstream_replicas"\} 0$/m,
    );
  });

  it('leaves a gauge never read out of the scrape (not a false 0) with an infinite age', async () => {
    const { gauges: cached, scrape, failedCollects } = gauges();
    void cached;
    const text = await scrape();
    expect(text).not.toMatch(/^hookstream_held_deliveries /m);
    expect(text).toMatch(
      /^hookstream_gauge_refresh_age_seconds\{gauge="hookstream_held_deliveries"\} \+Inf$/m,
    );
    expect(failedCollects.sort()).toEqual([
      'hookstream_endpoint_circuits',
      'hookstream_events_feed_horizon_lag_seconds',
      'hookstream_held_deliveries',
      'hookstream_replay_jobs',
      'hookstream_replicas',
    ]);
  });

  it('reads nothing on a replica that does not export the cluster-wide series, and reads at once when it starts to', async () => {
    let exporter = false;
    const { db, gauges: cached } = gauges({ exporter: () => exporter });
    await cached.refreshDue();
    expect(db.state.reads).toBe(0);
    exporter = true;
    await cached.refreshDue();
    expect(db.state.reads).toBe(4);
  });

  it('serves the feed horizon’s lag as last read: the holder’s age, then 0 once it ends', async () => {
    const { db, clock, gauges: cached, scrape } = gauges();
    db.state.horizon = { xid: '812', ageSeconds: 31.5, readAtSeconds: 5_000 };
    await cached.refreshDue();
    expect(await scrape()).toMatch(/^hookstream_events_feed_horizon_lag_seconds 31.5$/m);
    db.state.horizon = null;
    clock.advance(15_000);
    await cached.refreshDue();
    expect(await scrape()).toMatch(/^hookstream_events_feed_horizon_lag_seconds 0$/m);
  });
});
