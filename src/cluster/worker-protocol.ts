import type { Registry } from 'prom-client';

/** One registry's series as `Registry.getMetricsAsJSON()` gives them. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * The messages between the worker supervisor (src/cluster/workers.ts) and its workers, over the
 * IPC channel Node's cluster module opens. Plain objects: they cross a process boundary as JSON.
 */

/**
 * worker -> supervisor: the worker serves (its listeners are up and its consumers started). The
 * ports are null for a worker past HOOKSTREAM_HTTP_WORKERS, which listens on neither.
 */
export interface WorkerReady {
  type: 'hookstream:worker-ready';
  port: number | null;
  opsPort: number | null;
}

/**
 * supervisor -> worker: start listening on the public and ops ports (a worker that only consumed
 * takes the place of an HTTP worker that died, README decision 73).
 */
export interface ServeHttp {
  type: 'hookstream:serve-http';
}

/** worker -> supervisor: GET /metrics reached this worker; answer for every worker. */
export interface ScrapeRequest {
  type: 'hookstream:metrics-scrape';
  id: number;
}

/** supervisor -> worker: the answer to a {@link ScrapeRequest}. */
export interface ScrapeAnswer {
  type: 'hookstream:metrics-scraped';
  id: number;
  /** Null when the sum failed: the worker answers with its own series. */
  text: string | null;
}

/** supervisor -> worker: send your series (a scrape is being gathered). */
export interface CollectRequest {
  type: 'hookstream:metrics-collect';
  id: number;
}

/**
 * worker -> supervisor: this process's series as prom-client's JSON (summed over workers), and
 * the cluster-wide series as text from the exporter replica only (null elsewhere; they describe the
 * cluster, so they are not summed).
 */
export interface CollectAnswer {
  type: 'hookstream:metrics-collected';
  id: number;
  own: MetricsJson;
  cluster: string | null;
}

/**
 * The per-tenant rates whose buckets the supervisor holds for its HTTP workers: events published
 * (HOOKSTREAM_TENANT_INGEST_RATE) and endpoint writes (HOOKSTREAM_TENANT_ENDPOINT_WRITE_RATE).
 */
export type RateBucket = 'ingest' | 'endpoint_writes';

/** worker -> supervisor: up to `want` of a tenant's tokens of one rate (README decision 69). */
export interface RateLeaseRequest {
  type: 'hookstream:rate-lease';
  id: number;
  bucket: RateBucket;
  tenantId: string;
  want: number;
}

/** supervisor -> worker: the answer to a {@link RateLeaseRequest}. */
export interface RateLeaseAnswer {
  type: 'hookstream:rate-leased';
  id: number;
  granted: number;
  retryAfterMs: number;
}

export type WorkerMessage = WorkerReady | ScrapeRequest | CollectAnswer | RateLeaseRequest;
export type SupervisorMessage = ScrapeAnswer | CollectRequest | RateLeaseAnswer;

export function isMessage<T extends { type: string }>(value: unknown, type: T['type']): value is T {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type;
}
