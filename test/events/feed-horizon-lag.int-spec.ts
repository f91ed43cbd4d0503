import { Client } from 'pg';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { systemClock } from '../../src/domain/clock';
import { FeedHorizonRepository } from '../../src/event-log/feed-horizon.repository';
import { ClusterGauges } from '../../src/ops/metrics/cluster-gauges';
import { clusterSeries } from '../../src/ops/metrics/metrics.module';
import { silentLogger, testConfig } from '../../src/testing/fakes';
import { BASE_DATABASE_URL, createTestDatabase, type TestDatabase } from '../support/database';
import { waitFor } from '../support/wait';

const GAUGE = 'hookstream_events_feed_horizon_lag_seconds';
/** How long the test's transaction holds its xid before it commits. */
const HELD_SECONDS = 3;

/**
 * The feed's horizon lag on the real PostgreSQL, as the exporter serves it: a transaction that takes
 * an xid and keeps it open (here in another database of the cluster, as a platform service sharing
 * the cluster would) holds every newer row out of GET /v1/events, and the gauge says for how long.
 */
describe('hookstream_events_feed_horizon_lag_seconds', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let holder: Client;
  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await database.connect();
    holder = new Client({ connectionString: BASE_DATABASE_URL });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await database?.drop();
  });

  function exporter() {
    const registry = new Registry();
    const cluster = new Registry();
    const gauges = new ClusterGauges(
      testConfig({ HOOKSTREAM_GAUGE_REFRESH: '1s' }),
      { countByState: async () => ({ closed: 0, open: 0, half_open: 0 }) },
      { count: async () => 0 },
      { countByState: async () => [] },
      { isExporter: () => true, replicas: async () => [] },
      { ageSeconds: () => 0 },
      new FeedHorizonRepository(dataSource),
      systemClock,
      registry,
      cluster,
      silentLogger,
    );
    /** Reads PostgreSQL now and returns the gauge as a scrape serves it. */
    return async (): Promise<number> => {
      await gauges.refreshAll();
      const text = await clusterSeries(cluster, () => undefined);
      const line = new RegExp(`^${GAUGE} (\\S+)$`, 'm').exec(text);
      if (line === null) throw new Error(`${GAUGE} missing from the scrape:\n${text}`);
      return Number(line[1]);
    };
  }

  it('rises while a transaction holds an xid, and falls once it commits', async () => {
    const lag = exporter();
    await holder.query('BEGIN');
    try {
      await holder.query('SELECT pg_current_xact_id()');
      let seen = 0;
      await waitFor(async () => (seen = await lag()) >= HELD_SECONDS, {
        what: () => `the gauge to reach ${HELD_SECONDS} s while the transaction is open (last ${seen})`,
      });
    } finally {
      await holder.query('COMMIT');
    }
    let after = Infinity;
    await waitFor(async () => (after = await lag()) < HELD_SECONDS, {
      what: () => `the gauge to fall below ${HELD_SECONDS} s once the transaction committed (last ${after})`,
    });
  });
});
