import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { CLOCK } from '../../common/clock.module';
import { LOGGER } from '../../common/logger.module';
import { CLUSTER_METRICS_REGISTRY, METRICS_REGISTRY } from '../../common/metrics.registry';
import { ThrottledWarning } from '../../common/throttled-warning';
import { ReplicaRegistry } from '../../cluster/replica-registry';
import { CachedReading } from '../../domain/cached-reading';
import type { Clock } from '../../domain/clock';
import { FeedHorizonLag } from '../../domain/feed-horizon';
import { EndpointHealthRepository } from '../../endpoints/endpoint-health.repository';
import { FeedHorizonRepository } from '../../event-log/feed-horizon.repository';
import { HeldDeliveries } from '../../retry/held-deliveries';
import { ReplayJobs } from '../../replay/jobs/replay-jobs.repository';
import type { ReplayJobState } from '../../replay/jobs/replay-job';
import { LagMonitor } from '../lag/lag-monitor';

/** How often the exporter checks which readings are due (and whether it is still the exporter). */
const TICK_MS = 1_000;

const REPLAY_JOB_STATES: ReplayJobState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

/** A gauge's value before its first read: left out of the scrape (and counted) rather than a false 0. */
export class NotReadYet extends Error {
  constructor(gauge: string) {
    super(`${gauge} has not been read from PostgreSQL yet`);
    this.name = 'NotReadYet';
  }
}

/**
 * The cluster-wide gauges whose figures live in PostgreSQL (circuits, held deliveries, live
 * replicas, replay jobs, the events feed's horizon). The exporter replica re-reads them every `HOOKSTREAM_GAUGE_REFRESH` in the background
 * and a scrape serves the last values read, so /metrics never waits on PostgreSQL and stays whole
 * while it is down; `hookstream_gauge_refresh_age_seconds{gauge}` says how old each value is and
 * `hookstream_gauge_refresh_failures_total{gauge}` counts the reads that failed (README decision 53).
 * Other replicas read nothing: they do not serve these series.
 */
@Injectable()
export class ClusterGauges implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly readings: ReadonlyMap<string, CachedReading<unknown>>;
  private readonly failed: ThrottledWarning;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(EndpointHealthRepository) health: Pick<EndpointHealthRepository, 'countByState'>,
    @Inject(HeldDeliveries) held: Pick<HeldDeliveries, 'count'>,
    @Inject(ReplayJobs) jobs: Pick<ReplayJobs, 'countByState'>,
    @Inject(ReplicaRegistry) private readonly replicas: Pick<ReplicaRegistry, 'replicas' | 'isExporter'>,
    @Inject(LagMonitor) lag: Pick<LagMonitor, 'ageSeconds'>,
    @Inject(FeedHorizonRepository) horizon: Pick<FeedHorizonRepository, 'holder'>,
    @Inject(CLOCK) clock: Clock,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(CLUSTER_METRICS_REGISTRY) cluster: Registry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.failed = new ThrottledWarning(
      logger.child({ component: 'cluster-gauges' }),
      'reading a cluster-wide gauge failed; /metrics serves its last value',
    );
    const every = config.ops.gaugeRefreshMs;
    const now = () => clock.now();
    const circuits = new CachedReading(() => health.countByState(clock.now()), every, now);
    const heldRows = new CachedReading(() => held.count(), every, now);
    const liveRoles = new CachedReading(
      async () => rolesOfLiveReplicas(await replicas.replicas()),
      every,
      now,
    );
    const replayJobs = new CachedReading(() => jobs.countByState(), every, now);
    const horizonLag = new FeedHorizonLag();
    const feedLag = new CachedReading(async () => horizonLag.observe(await horizon.holder()), every, now);
    this.readings = new Map<string, CachedReading<unknown>>([
      ['hookstream_endpoint_circuits', circuits],
      ['hookstream_held_deliveries', heldRows],
      ['hookstream_replicas', liveRoles],
      ['hookstream_replay_jobs', replayJobs],
      ['hookstream_events_feed_horizon_lag_seconds', feedLag],
    ]);

    new Gauge({
      name: 'hookstream_endpoint_circuits',
      help: 'Circuits of failing endpoints by state, over every replica (closed: failing, not yet open)',
      labelNames: ['state'],
      registers: [cluster],
      collect() {
        for (const [state, count] of Object.entries(valueOf(circuits, 'hookstream_endpoint_circuits')))
          this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'hookstream_held_deliveries',
      help: 'Deliveries held in PostgreSQL while their endpoint cannot take them (every replica)',
      registers: [cluster],
      collect() {
        this.set(valueOf(heldRows, 'hookstream_held_deliveries'));
      },
    });
    new Gauge({
      name: 'hookstream_replicas',
      help: 'Replicas with a recent heartbeat, by role (a replica with several roles counts under each)',
      labelNames: ['role'],
      registers: [cluster],
      collect() {
        const counts = valueOf(liveRoles, 'hookstream_replicas');
        this.reset();
        for (const [role, count] of counts) this.set({ role }, count);
      },
    });
    new Gauge({
      name: 'hookstream_replay_jobs',
      help: 'Replay jobs by state (every replica, every tenant)',
      labelNames: ['state'],
      registers: [cluster],
      collect() {
        const rows = valueOf(replayJobs, 'hookstream_replay_jobs');
        const counts = new Map(rows.map((row) => [row.state, row.count]));
        for (const state of REPLAY_JOB_STATES) this.set({ state }, counts.get(state) ?? 0);
      },
    });
    new Gauge({
      name: 'hookstream_events_feed_horizon_lag_seconds',
      help:
        'Seconds the transaction with the oldest xid on the PostgreSQL cluster has run: GET /v1/events ' +
        'lists no row committed after it took its xid until it ends (0: no transaction holds one)',
      registers: [cluster],
      collect() {
        this.set(valueOf(feedLag, 'hookstream_events_feed_horizon_lag_seconds'));
      },
    });
    const readings = this.readings;
    new Gauge({
      name: 'hookstream_gauge_refresh_age_seconds',
      help: 'Seconds since each cached cluster-wide gauge was last read (PostgreSQL, or Kafka for the lag) (+Inf: never)',
      labelNames: ['gauge'],
      registers: [cluster],
      collect() {
        for (const [gauge, reading] of readings) this.set({ gauge }, reading.ageSeconds());
        // The consumer lag family (lag, members, oldest unfinished, tier depth, dead letters) comes
        // from Kafka on the lag monitor's own timer; its age says whether the brokers answer.
        this.set({ gauge: 'kafka_consumergroup_lag' }, lag.ageSeconds(clock.now()));
      },
    });
    new Counter({
      name: 'hookstream_gauge_refresh_failures_total',
      help: 'Background reads of a cached cluster-wide gauge that failed (its last value is served meanwhile)',
      labelNames: ['gauge'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [gauge, reading] of readings) this.inc({ gauge }, reading.failures());
      },
    });
  }

  onApplicationBootstrap(): void {
    void this.refreshDue();
    this.timer = setInterval(() => void this.refreshDue(), TICK_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Re-reads, on the exporter only, the gauges due. Checked every second rather than every
   * interval so a replica that becomes the exporter has values within a second.
   */
  async refreshDue(): Promise<void> {
    if (!this.replicas.isExporter()) return;
    await Promise.all(
      [...this.readings.values()]
        .filter((reading) => reading.due())
        .map((reading) => reading.refresh((error) => this.failed.warn(error))),
    );
  }

  /** Re-reads every gauge now, due or not (tests, and a first scrape that should not wait a tick). */
  async refreshAll(): Promise<boolean[]> {
    return Promise.all(
      [...this.readings.values()].map((reading) => reading.refresh((error) => this.failed.warn(error))),
    );
  }
}

function valueOf<T>(reading: CachedReading<T>, gauge: string): T {
  const value = reading.current();
  if (value === undefined) throw new NotReadYet(gauge);
  return value;
}

function rolesOfLiveReplicas(replicas: Array<{ live: boolean; roles: string[] }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const replica of replicas.filter((r) => r.live)) {
    for (const role of replica.roles) counts.set(role, (counts.get(role) ?? 0) + 1);
  }
  return counts;
}
