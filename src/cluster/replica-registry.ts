import { randomBytes } from 'node:crypto';
import {
  Inject,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LOGGER } from '../common/logger.module';
import { ThrottledWarning } from '../common/throttled-warning';

/** How often a replica writes its heartbeat (and what it reports of itself). */
export const HEARTBEAT_MS = 2_000;
/** A replica whose heartbeat is older than this is taken for gone. */
export const STALE_AFTER_MS = 10_000;
/** Rows of replicas gone this long are deleted. */
const FORGET_AFTER_MS = 24 * 3_600_000;

/** One replica as the ops views list it. */
export interface ReplicaView {
  id: string;
  host: string;
  pid: number;
  roles: string[];
  startedAt: string;
  heartbeatAt: string;
  /** Its heartbeat is recent: it runs. */
  live: boolean;
  /** What it reported of itself at its last heartbeat, by reporter name (see {@link report}). */
  status: Record<string, unknown>;
}

type ReplicaRow = {
  id: string;
  host: string;
  pid: number;
  roles: string[];
  started_at: Date;
  heartbeat_at: Date;
  live: boolean;
  status: Record<string, unknown>;
};

/**
 * This process among the replicas of one Hookstream: a row in `replicas` with a heartbeat every
 * {@link HEARTBEAT_MS}, carrying what the modules above report of it (owned partitions, in-flight
 * work), so any replica can show them all. Removed on a clean shutdown; a crashed replica's row
 * goes stale after {@link STALE_AFTER_MS}.
 *
 * The oldest live replica is the cluster's exporter: it alone publishes the series that describe
 * the whole cluster (consumer lag, dead letters, held deliveries), so they are not multiplied by
 * the replica count (README decision 38). Times are PostgreSQL's, so replicas' clocks may differ.
 */
@Injectable()
export class ReplicaRegistry implements OnModuleInit, OnModuleDestroy, OnApplicationShutdown {
  /** This process's id: its name and a random suffix, new each time it starts. */
  readonly id: string;
  private readonly reporters = new Map<string, () => unknown>();
  private readonly logger: Logger;
  private readonly heartbeatFailed: ThrottledWarning;
  private timer?: NodeJS.Timeout;
  private beating: Promise<void> | null = null;
  private exporter = false;
  private registered = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.id = `${config.replicaName}-${randomBytes(3).toString('hex')}`;
    this.logger = logger.child({ component: 'replicas', replica: this.id });
    this.heartbeatFailed = new ThrottledWarning(this.logger, 'replica heartbeat failed; retrying');
  }

  /** Adds what this replica reports of itself under `name` at each heartbeat (a plain JSON value). */
  report(name: string, read: () => unknown): void {
    this.reporters.set(name, read);
  }

  /** Whether this replica publishes the cluster-wide series now. */
  isExporter(): boolean {
    return this.exporter;
  }

  async onModuleInit(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Last: the row goes once everything else has stopped (partitions released, consumers left). */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    try {
      await this.dataSource.query(`DELETE FROM replicas WHERE id = $1`, [this.id]);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not remove this replica; its row goes stale');
    }
  }

  /** Every replica seen within a day, live ones first, oldest first. */
  async replicas(): Promise<ReplicaView[]> {
    const rows = await this.dataSource.query<ReplicaRow[]>(
      `SELECT id, host, pid, roles, started_at, heartbeat_at, status,
              heartbeat_at > now() - $1 * interval '1 millisecond' AS live
         FROM replicas ORDER BY live DESC, started_at, id`,
      [STALE_AFTER_MS],
    );
    return rows.map((row) => ({
      id: row.id,
      host: row.host,
      pid: row.pid,
      roles: row.roles,
      startedAt: row.started_at.toISOString(),
      heartbeatAt: row.heartbeat_at.toISOString(),
      live: row.live,
      status: row.status,
    }));
  }

  /** Writes the heartbeat and report, and learns whether this replica is the exporter. */
  beat(): Promise<void> {
    this.beating ??= this.writeBeat()
      .catch((error: unknown) => this.heartbeatFailed.warn(error))
      .finally(() => (this.beating = null));
    return this.beating;
  }

  private async writeBeat(): Promise<void> {
    const status = JSON.stringify(
      Object.fromEntries([...this.reporters].map(([name, read]) => [name, read()])),
    );
    await this.dataSource.query(
      `INSERT INTO replicas (id, host, pid, roles, status) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), status = EXCLUDED.status`,
      [this.id, this.config.replicaName, process.pid, [...this.config.roles], status],
    );
    const [oldest] = await this.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM replicas WHERE heartbeat_at > now() - $1 * interval '1 millisecond'
        ORDER BY started_at, id LIMIT 1`,
      [STALE_AFTER_MS],
    );
    const exporter = oldest?.id === this.id;
    if (exporter !== this.exporter) {
      this.logger.info(
        { exporter },
        exporter
          ? 'this replica exports the cluster-wide series'
          : 'another replica exports the cluster-wide series',
      );
    }
    this.exporter = exporter;
    if (!this.registered) {
      this.registered = true;
      await this.dataSource.query(
        `DELETE FROM replicas WHERE heartbeat_at < now() - $1 * interval '1 millisecond'`,
        [FORGET_AFTER_MS],
      );
    }
  }
}
