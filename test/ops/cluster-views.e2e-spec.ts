import type { ApiClient } from '../support/api';
import { sampleOf, scrape } from '../support/metrics';
import type { RunningService } from '../support/service';
import { startStack, stopStack, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

const PARTITIONS = 4;

interface ReplicaRow {
  id: string;
  roles: string[];
  live: boolean;
  exporter: boolean;
  partitions: number[];
}

interface ClusterView {
  answeredBy: string;
  replicas: ReplicaRow[];
}

/** One replica under test: its admin client, its process, and its id in the ops views. */
interface Replica {
  id: string;
  api: ApiClient;
  service: RunningService;
}

const metricsOf = (replica: Replica): Promise<string> => scrape(replica.service.url);
const hasLagSeries = (metrics: string): boolean => /^kafka_consumergroup_lag\{/m.test(metrics);
const delivered = (metrics: string): number =>
  sampleOf(metrics, 'hookstream_deliveries_total{outcome="delivered"}');

/** Both live, each owning some delivery partitions, together each partition once, one exporter. */
function settled(view: ClusterView): boolean {
  const live = view.replicas.filter((replica) => replica.live);
  const owned = live.flatMap((replica) => replica.partitions).sort((a, b) => a - b);
  return (
    live.length === 2 &&
    live.every((replica) => replica.partitions.length > 0) &&
    owned.join() === Array.from({ length: PARTITIONS }, (_, i) => i).join() &&
    view.replicas.filter((replica) => replica.exporter).length === 1
  );
}

/**
 * Issue 16: whichever replica an operator asks, the ops views describe the whole cluster, and the
 * series that describe the cluster (consumer lag above all) are exported by exactly one replica,
 * another one taking over when it goes.
 */
describe('ops: two replicas on one world, seen from either', () => {
  let stack: Stack | undefined;
  let first: Replica;
  let second: Replica;

  beforeAll(async () => {
    stack = await startStack('cluster-views', { HOOKSTREAM_DELIVERY_PARTITIONS: String(PARTITIONS) });
    const secondApi = await stack.bootReplica('cluster-views-2');
    const idOf = async (api: ApiClient) => (await api.ok<ClusterView>('GET', '/v1/ops/cluster')).answeredBy;
    first = { id: await idOf(stack.api), api: stack.api, service: stack.service };
    second = { id: await idOf(secondApi), api: secondApi, service: stack.replicas[0] };
  });
  afterAll(() => stopStack(stack));

  /** The replica that exports the cluster-wide series, as /v1/ops/cluster says, and the other one. */
  async function whoExports(): Promise<{ exporter: Replica; other: Replica }> {
    const view = await first.api.ok<ClusterView>('GET', '/v1/ops/cluster');
    const exporterId = view.replicas.find((replica) => replica.exporter)?.id;
    return exporterId === first.id ? { exporter: first, other: second } : { exporter: second, other: first };
  }

  it('lists both replicas live from either, owning disjoint delivery partitions that cover them all, one the exporter', async () => {
    expect(first.id).not.toBe(second.id);
    for (const replica of [first, second]) {
      let seen: ClusterView | undefined;
      // A rebalance moves partitions to the second replica, and heartbeats carry them every 2 s.
      const view = await waitFor(
        async () => {
          seen = await replica.api.ok<ClusterView>('GET', '/v1/ops/cluster');
          return settled(seen) ? seen : undefined;
        },
        {
          what: () =>
            `${replica.id} to list two live replicas owning partitions 0..${PARTITIONS - 1} once each, one exporter (last seen ${JSON.stringify(seen)})`,
          timeoutMs: 60_000,
        },
      );
      expect(view.answeredBy).toBe(replica.id);
      expect(view.replicas.map((row) => row.id).sort()).toEqual([first.id, second.id].sort());
      // The oldest live replica exports.
      expect(view.replicas.find((row) => row.exporter)?.id).toBe(first.id);
      for (const row of view.replicas) expect(row.roles.sort()).toEqual(['api', 'delivery', 'fanout']);
    }
  });

  it('sums the delivered totals of both replicas in the summary, asked of the replica that does not export', async () => {
    const { receiver } = stack!;
    const tenant = await first.api.createTenant('Cluster Views');
    // Endpoints are the deliveries' keys: sixteen of them land on both replicas' partitions.
    const paths = Array.from({ length: 16 }, (_, i) => `/cluster-views/${i}`);
    for (const path of paths) await tenant.client.ok('POST', '/v1/endpoints', { url: receiver.url(path) });
    const events = 5;
    const publisher = second.api.as(tenant.apiKey);
    for (let i = 0; i < events; i++) {
      await publisher.ok('POST', '/v1/events', { type: 'record.updated', data: { i } });
    }
    const arrived = () =>
      paths.reduce((n, path) => n + new Set(receiver.on(path).map((r) => r.headers['webhook-id'])).size, 0);
    await waitFor(() => arrived() === paths.length * events, {
      what: () => `${paths.length * events} deliveries at the receiver (got ${arrived()})`,
      timeoutMs: 60_000,
    });

    const { other } = await whoExports();
    let seen = '';
    const totals = await waitFor(
      async () => {
        const own = [delivered(await metricsOf(first)), delivered(await metricsOf(second))];
        const summary = await other.api.ok<{
          answeredBy: string;
          deliveries: { totals: Record<string, number> };
        }>('GET', '/v1/ops/summary');
        const shown = summary.deliveries.totals.delivered ?? 0;
        seen = `own ${own.join(' + ')}, summary ${shown} from ${summary.answeredBy}`;
        // Heartbeats carry each replica's totals every 2 s: wait for the last one to be reported.
        return own[0] + own[1] >= paths.length * events && shown === own[0] + own[1] ? own : undefined;
      },
      {
        what: () => `the summary to show both replicas' delivered totals summed (${seen})`,
        timeoutMs: 30_000,
      },
    );
    // Both delivered some, so the sum is not one replica's own figure.
    expect(totals[0]).toBeGreaterThan(0);
    expect(totals[1]).toBeGreaterThan(0);
  });

  it('exports kafka_consumergroup_lag from exactly one replica, the exporter', async () => {
    const { exporter, other } = await whoExports();
    // Reading the lag makes each replica's lag monitor publish its snapshot (it runs on every
    // replica; only the exporter serves it), so a replica that would export it has it now.
    for (const replica of [first, second]) await replica.api.ok('GET', '/v1/ops/lag');
    const [exporterMetrics, otherMetrics] = await Promise.all([metricsOf(exporter), metricsOf(other)]);
    expect([hasLagSeries(exporterMetrics), hasLagSeries(otherMetrics)]).toEqual([true, false]);
    expect(exporterMetrics).toMatch(/^hookstream_cluster_exporter 1$/m);
    expect(otherMetrics).toMatch(/^hookstream_cluster_exporter 0$/m);
    for (const name of ['kafka_consumergroup_members', 'hookstream_dead_letters', 'hookstream_replicas']) {
      expect(exporterMetrics).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
      expect(otherMetrics).not.toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    }
    // Each replica's own series stay on each.
    expect(otherMetrics).toMatch(/^hookstream_in_flight_deliveries \d+$/m);
  });

  it('hands the lag series to the other replica within seconds when the exporter crashes', async () => {
    const { exporter, other } = await whoExports();
    await exporter.service.kill();
    const killedAt = Date.now();
    let seen: ClusterView | undefined;
    // The crashed replica's heartbeat goes stale after 10 s; the other one learns it exports at its next beat.
    await waitFor(
      async () => {
        seen = await other.api.ok<ClusterView>('GET', '/v1/ops/cluster');
        const self = seen.replicas.find((row) => row.id === other.id);
        return self?.exporter && hasLagSeries(await metricsOf(other));
      },
      {
        what: () => `${other.id} to export the lag series and say so (last seen ${JSON.stringify(seen)})`,
        timeoutMs: 20_000,
      },
    );
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    expect(seen!.replicas.filter((row) => row.exporter).map((row) => row.id)).toEqual([other.id]);
    expect(seen!.replicas.find((row) => row.id === exporter.id)?.live).toBe(false);
    expect(await metricsOf(other)).toMatch(/^hookstream_cluster_exporter 1$/m);
  });
});
