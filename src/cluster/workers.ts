import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { usableCores } from '../config/cpu-count';
import { TokenBuckets } from '../domain/token-bucket';
import { workerExecArgv } from './worker-exec-argv';
import { WorkerCounters } from './worker-counters';
import {
  isMessage,
  type CollectAnswer,
  type CollectRequest,
  type MetricsJson,
  type RateLeaseAnswer,
  type RateBucket,
  type RateLeaseRequest,
  type ScrapeAnswer,
  type ScrapeRequest,
  type ServeHttp,
  type WorkerReady,
} from './worker-protocol';

/** A worker that died is restarted after this, doubling while it keeps dying, up to the maximum. */
const RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that served this long before it died starts the backoff afresh. */
const STABLE_AFTER_MS = 60_000;
/** A scrape answers with the workers that replied within this; the others are left out, and said so. */
const COLLECT_TIMEOUT_MS = 3_000;
/** After a shutdown signal, workers still running this long past their own deadline are killed. */
const SHUTDOWN_GRACE_MS = 5_000;

interface Slot {
  index: number;
  worker: Worker;
  startedAt: number;
  ready: boolean;
  restartDelayMs: number;
  /** Listens on the public and ops ports (one of HOOKSTREAM_HTTP_WORKERS); the others only consume. */
  http: boolean;
}

interface PendingScrape {
  /** By worker id. */
  replies: Map<number, CollectAnswer>;
  waiting: Set<number>;
  finish: () => void;
}

/**
 * `npm start` with HOOKSTREAM_WORKERS above 1: this process forks that many workers (Node's cluster
 * module) and does nothing else. Each worker is the whole service, a replica of HOOKSTREAM_ROLES
 * like one on another machine: an ordinary consumer-group member, with its own row among the
 * replicas, so every guarantee of the replicas holds unchanged (README decision 59). The listening
 * sockets are the supervisor's: connections to the public and ops ports are handed in turn to the
 * HOOKSTREAM_HTTP_WORKERS workers that listen (the first ones at the start; a worker that only
 * consumed takes the place of one that dies), the others only consume (README decision 73).
 *
 * The first worker boots alone (migrations, topics, the offsets carried over from an older
 * version), the others after it is ready, so no two boots race. A worker that fails before the
 * first "ready" fails the start, as one process would; one that dies later is restarted with a
 * backoff. A scrape of /metrics reaching any worker is answered for all of them: this process
 * gathers each worker's series and sums them (prom-client's aggregation). It also holds each
 * tenant's ingest and endpoint-write buckets, whose tokens the workers lease a few at a time, so the
 * instance keeps to HOOKSTREAM_TENANT_INGEST_RATE and HOOKSTREAM_TENANT_ENDPOINT_WRITE_RATE whatever
 * the number of workers (README decision 69).
 */
export class WorkerSupervisor {
  private readonly slots: Slot[] = [];
  private readonly scrapes = new Map<number, PendingScrape>();
  /** Keeps summed counters monotonic across workers that die or miss a scrape. */
  private readonly counters = new WorkerCounters();
  private nextScrape = 0;
  private stopping = false;
  private started = false;
  /** Each tenant's buckets of each rate the HTTP workers lease tokens from. */
  private readonly buckets: Record<RateBucket, TokenBuckets>;

  constructor(
    private readonly config: AppConfig,
    private readonly logger: Logger,
  ) {
    const { limits } = config;
    this.buckets = {
      ingest: new TokenBuckets({
        ratePerSec: limits.tenantIngestRatePerSec,
        burst: limits.tenantIngestBurst,
      }),
      endpoint_writes: new TokenBuckets({
        ratePerSec: limits.tenantEndpointWriteRatePerSec,
        burst: limits.tenantEndpointWriteBurst,
      }),
    };
  }

  async start(): Promise<void> {
    cluster.on('message', (worker, message: unknown) => this.onMessage(worker, message));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      // Every signal, not once: Ctrl-C under `npm start` reaches this process twice (from the
      // terminal and forwarded by npm), and a second one left to its default action would end this
      // process while the workers drain, and they exit at once when it goes (Node's cluster).
      process.on(signal, () => {
        if (this.stopping) this.logger.warn({ signal }, 'already shutting down; the workers keep draining');
        else void this.stop(signal).then((code) => process.exit(code));
      });
    }
    cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, this.config.workers, usableCores()) });
    let first: WorkerReady;
    try {
      first = await this.fork(0, true);
      await Promise.all(
        Array.from({ length: this.config.workers - 1 }, (_, i) =>
          this.fork(i + 1, i + 1 < this.config.httpWorkers),
        ),
      );
    } catch (error) {
      // Stopped by a signal while workers were starting (one without its handlers yet dies of it):
      // stop() drains the others and exits.
      if (this.stopping) return;
      // A worker could not start: those that did drain as at a shutdown, rather than die with this
      // process in the middle of their work.
      await this.stop('startup failure');
      throw error;
    }
    this.started = true;
    this.logger.info(
      {
        port: first.port,
        opsPort: first.opsPort,
        roles: [...this.config.roles],
        workers: this.config.workers,
        pids: this.slots.map((slot) => slot.worker.process.pid),
        // The workers that serve the ports (the first HOOKSTREAM_HTTP_WORKERS); the rest only consume.
        httpPids: this.httpPids(),
      },
      'hookstream ready',
    );
  }

  private httpPids(): (number | undefined)[] {
    return this.slots.filter((slot) => slot.http).map((slot) => slot.worker.process.pid);
  }

  /**
   * Forks the worker of one slot, serving HTTP or only consuming; resolves when it is ready,
   * rejects (ending the start) if it dies first.
   */
  private fork(index: number, http: boolean): Promise<WorkerReady> {
    const worker = cluster.fork({
      HOOKSTREAM_WORKER_INDEX: String(index),
      HOOKSTREAM_WORKER_HTTP: http ? '1' : '0',
    });
    const previous = this.slots[index];
    this.slots[index] = {
      index,
      worker,
      startedAt: Date.now(),
      ready: false,
      restartDelayMs: previous?.restartDelayMs ?? RESTART_DELAY_MS,
      http,
    };
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown): void => {
        if (!isMessage<WorkerReady>(message, 'hookstream:worker-ready')) return;
        worker.off('exit', onExit);
        worker.off('message', onMessage);
        resolve(message);
      };
      const onExit = (code: number | null, signal: string | null): void => {
        worker.off('message', onMessage);
        reject(new WorkerStartError(index, code, signal));
      };
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
  }

  private onMessage(worker: Worker, message: unknown): void {
    const slot = this.slotOf(worker);
    if (isMessage<WorkerReady>(message, 'hookstream:worker-ready') && slot) {
      slot.ready = true;
      if (this.started) this.logger.info({ worker: slot.index, pid: worker.process.pid }, 'worker restarted');
    } else if (isMessage<RateLeaseRequest>(message, 'hookstream:rate-lease')) {
      const { granted, retryAfterMs } = this.buckets[message.bucket].takeLease(
        message.tenantId,
        message.want,
        Date.now(),
      );
      send<RateLeaseAnswer>(worker, {
        type: 'hookstream:rate-leased',
        id: message.id,
        granted,
        retryAfterMs,
      });
    } else if (isMessage<ScrapeRequest>(message, 'hookstream:metrics-scrape')) {
      void this.scrape().then(
        (text) => send<ScrapeAnswer>(worker, { type: 'hookstream:metrics-scraped', id: message.id, text }),
        (error: unknown) => {
          // Answered at once, so the worker serves its own series rather than waiting out its timeout.
          this.logger.error({ err: error }, "could not sum the workers' metrics; the worker serves its own");
          send<ScrapeAnswer>(worker, { type: 'hookstream:metrics-scraped', id: message.id, text: null });
        },
      );
    } else if (isMessage<CollectAnswer>(message, 'hookstream:metrics-collected')) {
      const pending = this.scrapes.get(message.id);
      if (!pending || !pending.waiting.delete(worker.id)) return;
      pending.replies.set(worker.id, message);
      if (pending.waiting.size === 0) pending.finish();
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slotOf(worker);
    for (const pending of this.scrapes.values()) {
      if (pending.waiting.delete(worker.id) && pending.waiting.size === 0) pending.finish();
    }
    // A worker that dies before it is ready fails the start (fork); one that was ready is
    // restarted, even while the others are still starting.
    if (!slot || this.stopping || (!this.started && !slot.ready)) return;
    if (slot.http) this.handOverHttp(slot);
    const served = Date.now() - slot.startedAt;
    const delayMs = served >= STABLE_AFTER_MS ? RESTART_DELAY_MS : slot.restartDelayMs;
    slot.restartDelayMs = Math.min(delayMs * 2, MAX_RESTART_DELAY_MS);
    this.logger.error(
      { worker: slot.index, pid: worker.process.pid, code, signal, restartInMs: delayMs },
      'worker died; restarting it (its partitions went to the other workers meanwhile)',
    );
    const timer = setTimeout(() => {
      if (this.stopping) return;
      // A restart that fails before it is ready dies again, and is restarted again after a longer wait.
      this.fork(slot.index, slot.http).catch(() => undefined);
    }, delayMs);
    timer.unref();
  }

  /**
   * An HTTP worker died: a live worker that only consumes starts listening in its place at once, and
   * the dead one's restart only consumes, so the ports stay served (a restart takes seconds: the
   * whole service boots). With no such worker, the restart serves HTTP again (README decision 73).
   */
  private handOverHttp(dead: Slot): void {
    const heir = this.slots.find((slot) => !slot.http && slot.ready && slot.worker.isConnected());
    if (!heir) return;
    heir.http = true;
    dead.http = false;
    send<ServeHttp>(heir.worker, { type: 'hookstream:serve-http' });
    this.logger.warn(
      { worker: heir.index, pid: heir.worker.process.pid, in_place_of: dead.index },
      'worker serves HTTP in place of the one that died',
    );
  }

  /** Every live worker's series, summed, plus the cluster-wide series from the exporter worker. */
  private scrape(): Promise<string> {
    const id = this.nextScrape++;
    const live = this.slots.filter((slot) => slot.ready && slot.worker.isConnected());
    return new Promise((resolve) => {
      const pending: PendingScrape = {
        replies: new Map(),
        waiting: new Set(live.map((slot) => slot.worker.id)),
        finish: () => {
          clearTimeout(timer);
          this.scrapes.delete(id);
          resolve(this.merge(pending.replies, pending.waiting.size));
        },
      };
      const timer = setTimeout(() => pending.finish(), COLLECT_TIMEOUT_MS);
      this.scrapes.set(id, pending);
      for (const slot of live) send<CollectRequest>(slot.worker, { type: 'hookstream:metrics-collect', id });
      if (live.length === 0) pending.finish();
    });
  }

  private async merge(replies: Map<number, CollectAnswer>, missing: number): Promise<string> {
    const answers = new Map<number, MetricsJson>(
      [...replies].map(([workerId, reply]) => [workerId, reply.own]),
    );
    const own = await this.counters.toSum(answers, (workerId) =>
      this.slots.some((slot) => slot.worker.id === workerId && !slot.worker.isDead()),
    );
    const summed = own.length ? await AggregatorRegistry.aggregate(own).metrics() : '';
    const cluster = [...replies.values()].find((reply) => reply.cluster !== null)?.cluster ?? '';
    return (
      `${summed.trimEnd()}\n` +
      '# HELP hookstream_workers Worker processes answering this scrape (silent: asked, no answer in time)\n' +
      '# TYPE hookstream_workers gauge\n' +
      `hookstream_workers{state="reporting"} ${replies.size}\n` +
      `hookstream_workers{state="silent"} ${missing}\n` +
      cluster
    );
  }

  /**
   * Forwards the signal to every worker (each drains as one process would) and resolves when all
   * have exited: to 0 if every one exited 0, else 1 (this process's exit code).
   */
  private async stop(signal: string): Promise<number> {
    this.stopping = true;
    this.logger.info({ signal }, 'shutting down the workers');
    const workers = this.slots.map((slot) => slot.worker).filter((worker) => !worker.isDead());
    const exits = workers.map(
      (worker) =>
        new Promise<number>((resolve) => worker.once('exit', (code: number | null) => resolve(code ?? 1))),
    );
    for (const worker of workers) worker.process.kill('SIGTERM');
    const force = setTimeout(() => {
      this.logger.error('workers still running past the shutdown deadline; killing them');
      for (const worker of workers) worker.process.kill('SIGKILL');
    }, this.config.shutdownTimeoutMs + SHUTDOWN_GRACE_MS);
    force.unref();
    const codes = await Promise.all(exits);
    this.logger.info({ codes }, 'shutdown complete');
    return codes.every((code) => code === 0) ? 0 : 1;
  }

  private slotOf(worker: Worker): Slot | undefined {
    return this.slots.find((slot) => slot.worker === worker);
  }
}

/** A worker died before it was ready: the service cannot start (its output says why). */
export class WorkerStartError extends Error {
  constructor(
    readonly index: number,
    readonly code: number | null,
    readonly signal: string | null,
  ) {
    super(`worker ${index} exited before it was ready (${signal ?? `exit code ${code}`})`);
  }
}

function send<T>(worker: Worker, message: T): void {
  if (worker.isConnected()) worker.send(message as object);
}
