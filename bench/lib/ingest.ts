/**
 * HTTP ingest (issue 21): events/s accepted by `POST /v1/events` and `POST /v1/events/batch` with
 * BENCH_INGEST_CONNECTIONS (64) requests in flight, p50/p99 of the answer, and the service's CPU
 * per accepted event. One `api`-only service (no consumers, so no delivery work in its CPU) on a
 * fresh database and topic namespace, the ingest rate limit lifted; each mode runs
 * BENCH_INGEST_SECONDS after a warm-up.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import { Api } from './api';
import { num } from './config';
import { CpuMeter } from './cpu';
import { createDatabase } from './db';
import { benchKafka, deleteNamespaceTopics, uniqueNamespace } from './kafka';
import { startService, type Service } from './service';
import { Receiver } from './receiver';
import { percentile, round } from './stats';

/** `single`: no key (a new event each time); `event-id`: deduplicated by id; `batch`: BATCH_SIZE per request. */
export type IngestMode = 'single' | 'event-id' | 'header' | 'batch';
export const INGEST_MODES: IngestMode[] = ['single', 'event-id', 'header', 'batch'];
/** The modes the full bench reports (`header` costs what `event-id` does: both claim a key). */
const BENCH_MODES: IngestMode[] = ['single', 'event-id', 'batch'];

const CONNECTIONS = num('BENCH_INGEST_CONNECTIONS', 64, 16);
const SECONDS = num('BENCH_INGEST_SECONDS', 10, 2);
const WARMUP_SECONDS = num('BENCH_INGEST_WARMUP_SECONDS', 2, 1);
const BATCH_SIZE = num('BENCH_INGEST_BATCH', 100, 20);

export interface IngestModeResult {
  mode: IngestMode;
  eventsPerRequest: number;
  /** Events answered 202 (in a batch: events whose result is 202). */
  events: number;
  eventsPerSec: number;
  requestsPerSec: number;
  /** Of the whole request's answer (a batch's answer comes once all its events are written). */
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Refused events by the status they got (a batch's per-event status), e.g. {"503": 3}. */
  errorsByStatus: Record<string, number>;
  /** The service's CPU time per accepted event; null where /proc is unreadable. */
  serviceCpuMsPerEvent: number | null;
  /** The service's CPU over the run, in percent of one core. */
  serviceCpuPercent: number | null;
}

/** What the `deliver` run's receiver got: every accepted event, once the service caught up. */
export interface IngestDelivery {
  endpoints: number;
  /** Events accepted over the runs, warm-ups included (they are delivered too). */
  accepted: number;
  /** Accepted events delivered per second, from the first warm-up's start to the last arrival. */
  deliveredPerSec: number;
  /** From the end of the last timed run until the receiver had every accepted event. */
  drainMs: number;
}

export interface IngestResult {
  /** HOOKSTREAM_WORKERS of the service: `1`, or `auto` (one per core). */
  workers: string;
  /** HOOKSTREAM_HTTP_WORKERS of the service: `auto` (half the workers, rounded up) or `all`. */
  httpWorkers: string;
  connections: number;
  seconds: number;
  batchSize: number;
  results: IngestModeResult[];
  delivery?: IngestDelivery;
}

export interface IngestOptions {
  modes?: IngestMode[];
  /** Another build of the service (an older commit's dist/) to compare with. */
  distDir?: string;
  /** Extra node flags of the service (--cpu-prof). */
  nodeArgs?: string[];
  /** Extra env of the service (to measure one change alone). */
  env?: Record<string, string>;
  /** HOOKSTREAM_WORKERS of the service (`1` by default). */
  workers?: string;
  /** HOOKSTREAM_HTTP_WORKERS of the service (`auto` by default). */
  httpWorkers?: string;
  /**
   * A whole service (every role) that also delivers what it accepts, to DELIVER_ENDPOINTS endpoints
   * on a local receiver (fan-out 1): ingest and delivery on the same workers, as in production.
   */
  deliver?: boolean;
}

/** Endpoints of the `deliver` run: each takes one of as many event types, so they spread over the partitions. */
const DELIVER_ENDPOINTS = 16;

/** Starts its own api-only service, runs each mode, and cleans up after itself. */
export async function ingestPhase(options: IngestOptions = {}): Promise<IngestResult> {
  const namespace = uniqueNamespace('ingest');
  const database = await createDatabase('hs_bench_ingest');
  const workers = options.workers ?? '1';
  const httpWorkers = options.httpWorkers ?? 'auto';
  let service: Service | undefined;
  let pool: Pool | undefined;
  const receiver = options.deliver ? await new Receiver().start() : null;
  try {
    service = await startService(
      {
        DATABASE_URL: database.url,
        ...(receiver ? {} : { HOOKSTREAM_ROLES: 'api' }),
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: `${namespace}.input`,
        HOOKSTREAM_TENANT_INGEST_RATE: '10000000',
        HOOKSTREAM_WORKERS: workers,
        HOOKSTREAM_HTTP_WORKERS: httpWorkers,
        ...options.env,
      },
      {
        label: 'ingest-bench',
        ...(options.distDir ? { distDir: options.distDir } : {}),
        nodeArgs: options.nodeArgs ?? [],
      },
    );
    pool = new Pool(service.url, { connections: CONNECTIONS, pipelining: 1 });
    const tenant = await new Api(service.url).createTenant('ingest-bench');
    const apiKey = tenant.apiKey;
    if (receiver) {
      for (let n = 0; n < DELIVER_ENDPOINTS; n++) {
        await tenant.api.createEndpoint({
          url: receiver.url(`/ingest/${n}`),
          eventTypes: [`bench.ingest.${n}`],
          maxConcurrency: 16,
        });
      }
    }
    const servicePid = service.pid;
    const results: IngestModeResult[] = [];
    // Every accepted event, warm-ups included, is delivered when the service delivers (`deliver`).
    let accepted = 0;
    const startedAtMs = Date.now();
    for (const mode of options.modes ?? BENCH_MODES) {
      accepted += (await run(pool, apiKey, mode, WARMUP_SECONDS, null)).events;
      const timed = await run(pool, apiKey, mode, SECONDS, servicePid);
      accepted += timed.events;
      results.push(timed);
    }
    const delivery = receiver ? await drained(receiver, accepted, startedAtMs) : undefined;
    return {
      workers,
      httpWorkers,
      connections: CONNECTIONS,
      seconds: SECONDS,
      batchSize: BATCH_SIZE,
      results,
      ...(delivery ? { delivery } : {}),
    };
  } finally {
    await pool?.close();
    await service?.stop();
    await receiver?.stop();
    await deleteNamespaceTopics(benchKafka(), namespace, [`${namespace}.input`]);
    await database.drop();
  }
}

/** Waits (up to 5 minutes) until the receiver has the `accepted` events. */
async function drained(receiver: Receiver, accepted: number, startedAtMs: number): Promise<IngestDelivery> {
  const endedAt = Date.now();
  const deadline = endedAt + 300_000;
  while (receiver.requests < accepted && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const lastAt = Date.now();
  if (receiver.requests < accepted)
    throw new Error(`${accepted - receiver.requests} accepted events never arrived`);
  return {
    endpoints: DELIVER_ENDPOINTS,
    accepted,
    deliveredPerSec: Math.round(accepted / ((lastAt - startedAtMs) / 1000)),
    drainMs: lastAt - endedAt,
  };
}

/** Round-robin over the `deliver` run's event types, so the endpoints share the events evenly. */
let typeIndex = 0;

function eventBody(mode: IngestMode): Record<string, unknown> {
  const id = randomUUID();
  return {
    type: `bench.ingest.${typeIndex++ % DELIVER_ENDPOINTS}`,
    data: { recordId: id, status: 'active', amount: 42 },
    ...(mode === 'event-id' ? { id } : {}),
  };
}

interface Request {
  path: string;
  headers: Record<string, string>;
  body: string;
  events: number;
}

function nextRequest(apiKey: string, mode: IngestMode): Request {
  const headers: Record<string, string> = {
    authorization: `Bearer ${apiKey}`,
    'content-type': 'application/json',
  };
  if (mode === 'batch') {
    const events = Array.from({ length: BATCH_SIZE }, () => eventBody(mode));
    return { path: '/v1/events/batch', headers, body: JSON.stringify({ events }), events: BATCH_SIZE };
  }
  if (mode === 'header') headers['idempotency-key'] = randomUUID();
  return { path: '/v1/events', headers, body: JSON.stringify(eventBody(mode)), events: 1 };
}

/** The status of each event in an answer: the answer's own, or each result's in a batch's 202. */
function statusesIn(mode: IngestMode, status: number, text: string, events: number): number[] {
  if (mode !== 'batch' || status !== 202) return Array.from({ length: events }, () => status);
  return (JSON.parse(text) as { results: Array<{ status: number }> }).results.map((result) => result.status);
}

/** CONNECTIONS loops posting until `seconds` have passed; latencies of 202 answers only. */
async function run(
  pool: Pool,
  apiKey: string,
  mode: IngestMode,
  seconds: number,
  servicePid: number | null,
): Promise<IngestModeResult> {
  const latencies: number[] = [];
  let events = 0;
  let errors = 0;
  const errorsByStatus: Record<string, number> = {};
  const endAt = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < endAt) {
      const request = nextRequest(apiKey, mode);
      const started = performance.now();
      const response = await pool.request({ ...request, method: 'POST' });
      const text = await response.body.text();
      if (response.statusCode === 202) latencies.push(performance.now() - started);
      for (const status of statusesIn(mode, response.statusCode, text, request.events)) {
        if (status === 202) {
          events += 1;
        } else {
          errors += 1;
          errorsByStatus[status] = (errorsByStatus[status] ?? 0) + 1;
        }
      }
    }
  };
  const meter = servicePid === null ? null : CpuMeter.start(() => [servicePid]);
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  const elapsedSec = (performance.now() - startedAt) / 1000;
  const cpuPercent = meter?.stop()?.service ?? null;
  const eventsPerRequest = mode === 'batch' ? BATCH_SIZE : 1;
  return {
    mode,
    eventsPerRequest,
    events,
    eventsPerSec: Math.round(events / elapsedSec),
    requestsPerSec: Math.round(latencies.length / elapsedSec),
    p50Ms: round(percentile(latencies, 50), 2),
    p99Ms: round(percentile(latencies, 99), 2),
    errors,
    errorsByStatus,
    serviceCpuMsPerEvent:
      cpuPercent === null || events === 0
        ? null
        : round(((cpuPercent / 100) * elapsedSec * 1000) / events, 3),
    serviceCpuPercent: cpuPercent,
  };
}
