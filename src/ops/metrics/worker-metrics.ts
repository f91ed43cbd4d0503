import cluster from 'node:cluster';
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  isMessage,
  type CollectAnswer,
  type CollectRequest,
  type MetricsJson,
  type ScrapeAnswer,
  type ScrapeRequest,
} from '../../cluster/worker-protocol';

/** A scrape waits this long for the supervisor's sum before answering with this worker's own series. */
const SCRAPE_TIMEOUT_MS = 5_000;

export interface WorkerSeries {
  own(): Promise<MetricsJson>;
  /** The cluster-wide series as text when this replica exports them, else null. */
  cluster(): Promise<string | null>;
}

/**
 * The worker's side of /metrics under a supervisor (src/cluster/workers.ts): a scrape that reaches
 * this worker asks the supervisor, which gathers every worker's series; and this worker answers the
 * supervisor's gathering with its own. Outside a supervisor, {@link scrape} answers null and the
 * controller serves this process's series as before.
 */
@Injectable()
export class WorkerMetricsBridge implements OnModuleInit, OnModuleDestroy {
  private series: WorkerSeries | null = null;
  private nextId = 0;
  private readonly answers = new Map<number, (text: string | null) => void>();

  private readonly onMessage = (message: unknown): void => {
    if (isMessage<ScrapeAnswer>(message, 'hookstream:metrics-scraped')) {
      this.answers.get(message.id)?.(message.text);
    } else if (isMessage<CollectRequest>(message, 'hookstream:metrics-collect') && this.series) {
      void this.collect(this.series, message.id);
    }
  };

  /** What this worker contributes when the supervisor gathers (the controller supplies it). */
  serve(series: WorkerSeries): void {
    this.series = series;
  }

  onModuleInit(): void {
    if (cluster.isWorker) process.on('message', this.onMessage);
  }

  onModuleDestroy(): void {
    process.off('message', this.onMessage);
  }

  /** Every worker's series as text, or null when this process is not a supervised worker or the supervisor is silent. */
  async scrape(): Promise<string | null> {
    if (!cluster.isWorker || !process.send) return null;
    const id = this.nextId++;
    try {
      return await new Promise<string | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), SCRAPE_TIMEOUT_MS);
        this.answers.set(id, (text) => {
          clearTimeout(timer);
          resolve(text);
        });
        process.send!({ type: 'hookstream:metrics-scrape', id } satisfies ScrapeRequest);
      });
    } finally {
      this.answers.delete(id);
    }
  }

  /**
   * Answers the supervisor's gathering. A series that fails to read is not answered: the supervisor
   * reports this worker silent in that scrape (`hookstream_workers{state="silent"}`), and the
   * rejection is not left unhandled (it would end the worker).
   */
  private async collect(series: WorkerSeries, id: number): Promise<void> {
    let answer: CollectAnswer;
    try {
      const [own, clusterText] = await Promise.all([series.own(), series.cluster()]);
      answer = { type: 'hookstream:metrics-collected', id, own, cluster: clusterText };
    } catch {
      return;
    }
    if (process.connected) process.send?.(answer);
  }
}
