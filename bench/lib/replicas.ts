import { Api } from './api';
import { sleep, startService, type Service } from './service';

/** How long one boot may take on a loaded 2-core machine, and how long booting may keep failing. */
const READY_TIMEOUT_MS = 90_000;
const BOOT_RETRY_FOR_MS = 180_000;
/** How often settle() and the background scrape look at the replicas' /metrics. */
const SETTLE_POLL_MS = 250;
const SCRAPE_EVERY_MS = 2_000;

/**
 * The value of one series in a Prometheus text exposition, named as it is printed
 * (`name{label="value"}`), or 0 when absent (as test/support/metrics.ts reads it).
 */
export function sampleOf(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function scrape(service: Service): Promise<string> {
  const response = await fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return response.text();
}

export interface ClusterReplicaView {
  id: string;
  live: boolean;
  partitions: number[];
}

/**
 * Counters summed over every process a run has had: a counter restarts at 0 with its process, so
 * each process's last value read is kept after it is gone. Read before every planned stop and
 * every SIGKILL, and every SCRAPE_EVERY_MS meanwhile, so a kill loses at most that much.
 */
class CounterTally {
  private readonly lastByPid = new Map<number, Map<string, number>>();

  constructor(private readonly series: string[]) {}

  record(pid: number, text: string): void {
    this.lastByPid.set(pid, new Map(this.series.map((name) => [name, sampleOf(text, name)])));
  }

  total(series: string): number {
    let sum = 0;
    for (const values of this.lastByPid.values()) sum += values.get(series) ?? 0;
    return sum;
  }

  totals(): Record<string, number> {
    return Object.fromEntries(this.series.map((name) => [name, this.total(name)]));
  }
}

/**
 * Named replicas of one Hookstream (same namespace and database, each its own process and
 * HOOKSTREAM_REPLICA_NAME), started, stopped and killed by name; one that exits unasked is counted
 * and started again, as a supervisor would.
 */
export class ReplicaSet {
  private readonly running = new Map<string, Service>();
  private readonly tally: CounterTally;
  private readonly planned = new Set<number>();
  private scraper?: NodeJS.Timeout;
  private boots = 0;
  unplannedExits: Array<{ replica: string; code: number | null; signal: string | null; atMs: number }> = [];

  constructor(
    private readonly env: Record<string, string>,
    private readonly options: {
      label: string;
      deliveryPartitions: number;
      counters: string[];
      log: (message: string) => void;
    },
  ) {
    this.tally = new CounterTally(options.counters);
  }

  /** Live services, by replica name. */
  get services(): Map<string, Service> {
    return this.running;
  }

  /** Any live replica's REST API, as the admin. */
  admin(): Api {
    const first = [...this.running.values()][0];
    if (!first) throw new Error('no replica is running');
    return new Api(first.url);
  }

  /**
   * Boots `name` (a fresh process: the service adds a random suffix to its replica id). Only the
   * first boot of a run applies the migrations: replicas booting together would race on them.
   */
  async start(name: string): Promise<Service> {
    const migrate = this.boots++ === 0;
    const deadline = Date.now() + BOOT_RETRY_FOR_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        const service = await startService(
          {
            ...this.env,
            HOOKSTREAM_REPLICA_NAME: name,
            HOOKSTREAM_RUN_MIGRATIONS: migrate ? 'true' : 'false',
          },
          { label: `${this.options.label}-${name}`, readyTimeoutMs: READY_TIMEOUT_MS },
        );
        this.watch(name, service);
        this.running.set(name, service);
        return service;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        this.options.log(`${name}: boot attempt ${attempt} failed (${firstLine(error)}); retrying`);
        await sleep(2_000);
      }
    }
  }

  /** SIGTERM: the graceful stop of a rolling restart or a scale-down (its counters read first). */
  async stop(name: string): Promise<void> {
    const service = this.take(name);
    await this.read(service);
    await service.stop();
  }

  /** SIGKILL: a crash, no shutdown hooks (its counters read the moment before). */
  async kill(name: string): Promise<number> {
    const service = this.take(name);
    await this.read(service);
    await service.kill();
    return service.pid;
  }

  async stopAll(): Promise<void> {
    this.stopScraping();
    await Promise.all([...this.running.keys()].map((name) => this.stop(name).catch(() => undefined)));
  }

  /**
   * Waits until the delivery group has settled on the running replicas: each owns partitions
   * (hookstream_delivery_partitions_owned counts them once their handover is done) and together
   * they own every one, once. Returns how long it took, or throws past the deadline.
   */
  async settle(timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    let owned: number[] = [];
    const probe = async (): Promise<boolean> => {
      const services = [...this.running.values()];
      owned = await Promise.all(
        services.map((s) =>
          scrape(s)
            .then((text) => sampleOf(text, 'hookstream_delivery_partitions_owned'))
            .catch(() => -1),
        ),
      );
      const everyOneWorks = owned.every((n) => n > 0 || services.length > this.options.deliveryPartitions);
      return everyOneWorks && owned.reduce((a, b) => a + b, 0) === this.options.deliveryPartitions;
    };
    while (!(await probe())) {
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(
          `the delivery group did not settle within ${timeoutMs} ms (owned: ${owned.join(', ')})`,
        );
      }
      await sleep(SETTLE_POLL_MS);
    }
    return Date.now() - t0;
  }

  /** What /v1/ops/cluster says: the replicas seen lately and the partitions each owns. */
  async clusterView(): Promise<ClusterReplicaView[]> {
    const view = await this.admin().ok<{ replicas: ClusterReplicaView[] }>('GET', '/v1/ops/cluster');
    return view.replicas.map(({ id, live, partitions }) => ({ id, live, partitions }));
  }

  /**
   * /v1/ops/cluster once it agrees with settle(): as many live replicas owning partitions as are
   * running, every partition owned once. It comes from heartbeats (every 2 s), so it lags the
   * metrics a little; past `timeoutMs` the last answer is returned as it is.
   */
  async settledView(timeoutMs: number): Promise<ClusterReplicaView[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.clusterView().catch(() => []);
      const owners = view.filter((replica) => replica.live && replica.partitions.length > 0);
      const owned = owners.flatMap((replica) => replica.partitions);
      const agrees =
        owners.length === Math.min(this.running.size, this.options.deliveryPartitions) &&
        owned.length === this.options.deliveryPartitions &&
        new Set(owned).size === owned.length;
      if (agrees || Date.now() > deadline) return view;
      await sleep(SETTLE_POLL_MS);
    }
  }

  /** Reads every running replica's counters now and every SCRAPE_EVERY_MS until stopScraping(). */
  startScraping(): void {
    const tick = (): void => {
      this.scraper = setTimeout(() => void this.readAll().finally(tick), SCRAPE_EVERY_MS);
    };
    tick();
  }

  stopScraping(): void {
    clearTimeout(this.scraper);
  }

  async readAll(): Promise<void> {
    await Promise.all([...this.running.values()].map((service) => this.read(service)));
  }

  /** The tallied counters over every process of the run (read readAll() first for the latest). */
  counters(): Record<string, number> {
    return this.tally.totals();
  }

  private async read(service: Service): Promise<void> {
    try {
      this.tally.record(service.pid, await scrape(service));
    } catch {
      // a replica between its stop and its exit, or busy past the timeout: its last read stands
    }
  }

  private take(name: string): Service {
    const service = this.running.get(name);
    if (!service) throw new Error(`${name} is not running`);
    this.running.delete(name);
    this.planned.add(service.pid);
    return service;
  }

  private watch(name: string, service: Service): void {
    service.process.once('exit', (code, signal) => {
      if (this.planned.has(service.pid)) return;
      this.running.delete(name);
      this.unplannedExits.push({ replica: name, code, signal, atMs: Date.now() });
      this.options.log(
        `${name} (pid ${service.pid}) exited on its own (code ${code}, signal ${signal}); starting it again`,
      );
      void this.start(name).catch((error: unknown) =>
        this.options.log(`${name} could not be started again: ${firstLine(error)}`),
      );
    });
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
