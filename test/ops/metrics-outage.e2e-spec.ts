/**
 * Issue 19 item 4: /metrics never waits on PostgreSQL. The shared PostgreSQL is never stopped here:
 * the outage is the service's own DataSource answering every query with a hang, then a refused
 * connection, as a stopped server does to a pool that must reconnect.
 */
import { DataSource } from 'typeorm';
import { startApp, type InProcessApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { sampleOf, scrape } from '../support/metrics';
import { waitFor } from '../support/wait';

const CACHED = ['hookstream_endpoint_circuits', 'hookstream_held_deliveries', 'hookstream_replicas'];
/** Cluster-wide series left out of scrapes so far (a gauge scraped before its first read is). */
const leftOut = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('hookstream_metrics_collect_failures_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
const age = (text: string, gauge: string) =>
  sampleOf(text, `hookstream_gauge_refresh_age_seconds{gauge="${gauge}"}`);

describe('/metrics while PostgreSQL is down (issue 19 item 4)', () => {
  let database: TestDatabase;
  let service: InProcessApp;
  /** Ends the simulated outage's hanging queries (they then fail), so a failing test still closes. */
  let refuse: () => void = () => undefined;

  beforeAll(async () => {
    // A database of its own: this process is its only replica, hence the exporter of the cluster-wide series.
    database = await createTestDatabase();
    service = await startApp({ DATABASE_URL: database.url, HOOKSTREAM_GAUGE_REFRESH: '1s' });
  });

  afterAll(async () => {
    refuse();
    jest.restoreAllMocks();
    await service?.close();
    await database?.drop();
  });

  it('answers at once with the last values read, their age growing, and counts the failed reads', async () => {
    const metrics = () => scrape(service.url);
    const before = await waitFor(
      async () => {
        const text = await metrics();
        const read =
          /^hookstream_replicas\{role="api"\} 1$/m.test(text) &&
          /^hookstream_cluster_exporter 1$/m.test(text);
        const fresh = [...CACHED, 'kafka_consumergroup_lag'].every((gauge) => age(text, gauge) < 60);
        return read && fresh ? text : undefined;
      },
      { what: 'the cached gauges read once, this replica the exporter' },
    );
    expect(before).toMatch(/^hookstream_held_deliveries 0$/m);
    expect(before).toMatch(/^hookstream_endpoint_circuits\{state="open"\} 0$/m);

    // PostgreSQL stops answering: every query hangs until the test lets it fail.
    const dataSource = service.app.get(DataSource);
    const refused = new Promise<void>((resolve) => (refuse = resolve));
    const query = jest.spyOn(dataSource, 'query').mockImplementation(async () => {
      await refused;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });
    await waitFor(() => query.mock.calls.some(([sql]) => sql.includes('FROM held_deliveries')), {
      what: 'a background read of hookstream_held_deliveries to reach the hanging database',
    });

    // Scrapes while that read hangs: answered from memory, every cached series still there.
    for (let scrapeNo = 0; scrapeNo < 5; scrapeNo++) {
      const startedAt = Date.now();
      const response = await fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      expect({ status: response.status, ms: Date.now() - startedAt < 2_000 }).toEqual({
        status: 200,
        ms: true,
      });
      expect(text).toMatch(/^hookstream_replicas\{role="api"\} 1$/m);
      expect(text).toMatch(/^hookstream_held_deliveries 0$/m);
      expect(text).toMatch(/^hookstream_endpoint_circuits\{state="open"\} 0$/m);
      expect(leftOut(text)).toBe(leftOut(before));
    }

    // The hanging reads fail: counted per gauge, the values kept, their age growing past the interval.
    refuse();
    const during = await waitFor(
      async () => {
        const text = await metrics();
        const counted = CACHED.every(
          (gauge) => sampleOf(text, `hookstream_gauge_refresh_failures_total{gauge="${gauge}"}`) >= 2,
        );
        return counted && CACHED.every((gauge) => age(text, gauge) >= 2) ? text : undefined;
      },
      { what: 'two failed reads of each cached gauge, and each value older than two seconds' },
    );
    expect(during).toMatch(/^hookstream_replicas\{role="api"\} 1$/m);
    expect(during).toMatch(/^hookstream_held_deliveries 0$/m);

    // PostgreSQL is back: the next reads succeed and the ages drop back under the interval.
    query.mockRestore();
    await waitFor(
      async () => {
        const text = await metrics();
        return CACHED.every((gauge) => age(text, gauge) < 1.5) ? text : undefined;
      },
      { what: 'every cached gauge read again once the database answers' },
    );
  });
});
