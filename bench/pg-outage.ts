/**
 * `npm run chaos:pg-outage`: PostgreSQL stopped while deliveries with large response bodies complete
 * (issue 15). The service's memory must stay bounded and nothing may be lost.
 *
 * One tenant, PG_OUTAGE_ENDPOINTS endpoints, each answering every delivery with a 64 KiB body (the
 * most HOOKSTREAM_RESPONSE_BODY_LIMIT keeps per attempt, so every attempt-log row would carry one).
 * PostgreSQL is stopped (`scripts/infra.sh pg-stop`) before publishing starts; PG_OUTAGE_DELIVERIES
 * deliveries are published in the first 70 % of the PG_OUTAGE_S outage, so they complete while the
 * attempt log can only buffer them; then PostgreSQL is started again. The service's VmRSS and
 * VmHWM (/proc/<pid>/status) and the attempt log's buffered bytes (/metrics) are sampled through
 * the run. The ledger: published, delivered unique per endpoint, lost, duplicates, peak RSS against
 * the heap cap (package.json config.node_options), and the attempt rows written afterwards against
 * the attempts the receiver saw, with the attempt log's own account of what it degraded
 * (`hookstream_attempt_log_degraded_total`). Exits 1 on any loss or a peak RSS over the heap cap.
 *
 * PG_OUTAGE_SMOKE=1 (`npm run chaos:pg-outage:smoke`): 500 deliveries, a 10 s outage; writes
 * bench/results/pg-outage-smoke.json instead of pg-outage-latest.json. Stops the machine's
 * PostgreSQL: run it under `flock -x /tmp/hookstream-run.lock`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';
import { Api } from './lib/api';
import { createDatabase, type BenchDatabase } from './lib/db';
import {
  benchKafka,
  cloudEvent,
  connectedProducer,
  deleteNamespaceTopics,
  uniqueNamespace,
} from './lib/kafka';
import { Receiver, type Delivery } from './lib/receiver';
import { ensureServiceBuilt, ROOT, sleep, startService, until, type Service } from './lib/service';
import { infra, secondsSince } from './lib/faults';
import { machineInfo, round } from './lib/stats';

const SMOKE = process.env.PG_OUTAGE_SMOKE === '1';
const num = (name: string, full: number, smoke: number): number =>
  process.env[name] ? Number(process.env[name]) : SMOKE ? smoke : full;

const CONFIG = {
  deliveries: num('PG_OUTAGE_DELIVERIES', 5_000, 500),
  endpoints: num('PG_OUTAGE_ENDPOINTS', 4, 4),
  outageS: num('PG_OUTAGE_S', 60, 10),
  responseBodyBytes: num('PG_OUTAGE_BODY_BYTES', 64 * 1024, 64 * 1024),
  drainTimeoutS: num('PG_OUTAGE_DRAIN_TIMEOUT_S', 300, 40),
  timeLimitS: num('PG_OUTAGE_TIME_LIMIT_S', 900, 150),
};

/** Deliveries are published within this share of the outage, so they complete during it. */
const PUBLISH_SHARE_OF_OUTAGE = 0.7;
const SAMPLE_EVERY_MS = 250;
const METRICS_EVERY_MS = 1_000;
/** How long the attempt log may take to write its buffer once PostgreSQL is back. */
const FLUSH_TIMEOUT_MS = 60_000;
const MB = 1024 * 1024;

/** The heap cap the service runs with: --max-old-space-size (MiB) of package.json's node_options. */
const HEAP_CAP_MB = Number(
  /--max-old-space-size=(\d+)/.exec(
    (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { config: { node_options: string } })
      .config.node_options,
  )?.[1] ?? NaN,
);

const kafka = benchKafka('hookstream-pg-outage');

interface MemorySample {
  atS: number;
  phase: Phase;
  rssMb: number;
  hwmMb: number;
}
type Phase = 'before' | 'outage' | 'after';

/** VmRSS and VmHWM of a process in MB, or undefined once it is gone. */
function memoryOf(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? 0);
    return { rssMb: round(kb('VmRSS') / 1024, 1), hwmMb: round(kb('VmHWM') / 1024, 1) };
  } catch {
    return undefined;
  }
}

/** The value of one Prometheus series in a /metrics text (0 when absent). */
function metric(text: string, name: string, labels = ''): number {
  const escaped = `${name}${labels ? `{${labels}}` : ''}`.replace(/[{}"]/g, (c) => `\\${c}`);
  const match = new RegExp(`^${escaped}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

async function scrape(service: Service): Promise<string | undefined> {
  return fetch(`${service.url}/metrics`, { signal: AbortSignal.timeout(2_000) })
    .then((r) => (r.ok ? r.text() : undefined))
    .catch(() => undefined);
}

async function main(): Promise<void> {
  const started = Date.now();
  const elapsedS = (): number => round((Date.now() - started) / 1000, 1);
  const log = (message: string): void => console.log(`[pg-outage ${elapsedS().toFixed(1)}s] ${message}`);
  const watchdog = setTimeout(() => {
    console.error(`[pg-outage] over the time limit of ${CONFIG.timeLimitS} s; giving up`);
    void infra('pg-start').finally(() => process.exit(2));
  }, CONFIG.timeLimitS * 1000);
  watchdog.unref();
  if (!Number.isFinite(HEAP_CAP_MB))
    throw new Error('no --max-old-space-size in package.json config.node_options');

  await ensureServiceBuilt();
  const body = 'r'.repeat(CONFIG.responseBodyBytes);
  /** path -> webhook-id -> requests (every one answered 200 with the body). */
  const seen = new Map<string, Map<string, number>>();
  let requestsDuringOutage = 0;
  let outage = false;
  const receiver = await new Receiver((d: Delivery) => {
    const ids = seen.get(d.path) ?? new Map<string, number>();
    ids.set(d.webhookId, (ids.get(d.webhookId) ?? 0) + 1);
    seen.set(d.path, ids);
    if (outage) requestsDuringOutage++;
    return { status: 200, body };
  }).start();

  const namespace = uniqueNamespace(SMOKE ? 'pg-outage-smoke' : 'pg-outage');
  const inputTopic = `${namespace}.input`;
  let database: BenchDatabase | undefined;
  let service: Service | undefined;
  let producer: Producer | undefined;
  let pgStopped = false;
  let sampler: NodeJS.Timeout | undefined;
  let metricsSampler: NodeJS.Timeout | undefined;

  try {
    database = await createDatabase('hs_pg_outage');
    const env = {
      DATABASE_URL: database.url,
      HOOKSTREAM_TOPIC_NAMESPACE: namespace,
      HOOKSTREAM_INPUT_TOPICS: inputTopic,
      HOOKSTREAM_INPUT_PARTITIONS: '3',
      HOOKSTREAM_DELIVERY_PARTITIONS: '6',
      HOOKSTREAM_RETRY_DELAYS: '1s,2s,4s,8s,15s,30s,60s',
    };
    service = await startService(env, { label: 'pg-outage-service', readyTimeoutMs: 90_000 });
    const live = service;
    let serviceExited = false;
    live.process.once('exit', () => (serviceExited = true));
    const admin = new Api(live.url);
    const tenant = await admin.createTenant('pg-outage');
    const paths = Array.from({ length: CONFIG.endpoints }, (_, i) => `/e${i}`);
    for (const path of paths) await tenant.api.createEndpoint({ url: receiver.url(path) });
    await sleep(1_000); // endpoint cache: LISTEN/NOTIFY

    // --- sampling: memory every 250 ms, the attempt log's buffer every second ---
    let phase: Phase = 'before';
    const samples: MemorySample[] = [];
    let peakBufferedBytes = 0;
    let peakBufferedRows = 0;
    /** /metrics scrapes that failed, by phase (on the exporter replica it needs PostgreSQL). */
    const scrapeFailures: Record<Phase, number> = { before: 0, outage: 0, after: 0 };
    const scrapes: Record<Phase, number> = { before: 0, outage: 0, after: 0 };
    sampler = setInterval(() => {
      const memory = memoryOf(live.pid);
      if (memory) samples.push({ atS: elapsedS(), phase, ...memory });
    }, SAMPLE_EVERY_MS);
    metricsSampler = setInterval(() => {
      const during = phase;
      void scrape(live).then((text) => {
        scrapes[during]++;
        if (!text) {
          scrapeFailures[during]++;
          return;
        }
        peakBufferedBytes = Math.max(
          peakBufferedBytes,
          metric(text, 'hookstream_attempt_log_buffered_bytes'),
        );
        peakBufferedRows = Math.max(peakBufferedRows, metric(text, 'hookstream_attempt_log_buffered'));
      });
    }, METRICS_EVERY_MS);
    await sleep(2_000); // a baseline before the outage

    // --- the outage, with the deliveries published during it ---
    producer = await connectedProducer(kafka);
    const events = Math.ceil(CONFIG.deliveries / CONFIG.endpoints);
    log(
      `stopping PostgreSQL for ${CONFIG.outageS} s; publishing ${events} events to ${CONFIG.endpoints} endpoints`,
    );
    const outageStart = Date.now();
    pgStopped = true;
    const stopCode = await infra('pg-stop');
    if (stopCode !== 0) throw new Error(`pg-stop failed (exit ${stopCode})`);
    phase = 'outage';
    outage = true;
    const published: string[] = [];
    const publishMs = CONFIG.outageS * 1000 * PUBLISH_SHARE_OF_OUTAGE;
    const publishStart = Date.now();
    while (published.length < events) {
      const due = Math.min(events, Math.ceil(((Date.now() - publishStart) / publishMs) * events));
      if (due <= published.length) {
        await sleep(50);
        continue;
      }
      const messages = Array.from({ length: due - published.length }, (_, i) =>
        cloudEvent({ tenantId: tenant.id, type: 'outage.event', seq: published.length + i }),
      );
      await producer.send({ topic: inputTopic, acks: -1, messages });
      for (const m of messages) published.push((JSON.parse(String(m.value)) as { id: string }).id);
    }
    const left = outageStart + CONFIG.outageS * 1000 - Date.now();
    if (left > 0) await sleep(left); // the outage lasts its planned time whatever the delivery pace
    const delivered = (): number => {
      let total = 0;
      for (const path of paths) total += seen.get(path)?.size ?? 0;
      return total;
    };
    const deliveredDuringOutage = delivered();
    const startCode = await infra('pg-start');
    pgStopped = startCode !== 0;
    outage = false;
    phase = 'after';
    const outageS = secondsSince(outageStart);
    log(
      `PostgreSQL started again (exit ${startCode}) after ${outageS} s; ${deliveredDuringOutage} delivered during it`,
    );

    // --- drain, then let the attempt log write its buffer ---
    const expected = published.length * paths.length;
    const drained = await until(() => delivered() >= expected, CONFIG.drainTimeoutS * 1000, 250);
    log(drained ? 'every delivery arrived' : `drain timed out: ${expected - delivered()} outstanding`);
    let flushed = false;
    const flushDeadline = Date.now() + FLUSH_TIMEOUT_MS;
    let last: string | undefined;
    while (Date.now() < flushDeadline) {
      last = await scrape(live);
      if (last && metric(last, 'hookstream_attempt_log_buffered') === 0) {
        flushed = true;
        break;
      }
      await sleep(500);
    }
    const finalMetrics = last ?? (await scrape(live)) ?? '';
    clearInterval(sampler);
    clearInterval(metricsSampler);

    // --- ledger ---
    const perEndpoint = paths.map((path) => {
      const ids = seen.get(path) ?? new Map<string, number>();
      const deliveredHere = published.filter((id) => ids.has(id)).length;
      let requests = 0;
      for (const count of ids.values()) requests += count;
      return {
        endpoint: path,
        expected: published.length,
        delivered: deliveredHere,
        lost: published.length - deliveredHere,
        duplicates: requests - ids.size,
        requests,
      };
    });
    const requests = perEndpoint.reduce((a, e) => a + e.requests, 0);
    const rows = await attemptRows(database.url);
    const degraded = (what: string): number =>
      metric(finalMetrics, 'hookstream_attempt_log_degraded_total', `what="${what}"`);
    const peakRssMb = Math.max(0, ...samples.map((s) => s.hwmMb));
    const peakOf = (p: Phase): number | null => {
      const of = samples.filter((s) => s.phase === p).map((s) => s.rssMb);
      return of.length ? Math.max(...of) : null;
    };
    const totals = {
      published: published.length,
      expectedDeliveries: expected,
      delivered: perEndpoint.reduce((a, e) => a + e.delivered, 0),
      lost: perEndpoint.reduce((a, e) => a + e.lost, 0),
      duplicates: perEndpoint.reduce((a, e) => a + e.duplicates, 0),
      deliveredDuringOutage,
      requestsDuringOutage,
    };
    const report = {
      ...totals,
      ok: totals.lost === 0 && peakRssMb < HEAP_CAP_MB && !serviceExited,
      memory: {
        heapCapMb: HEAP_CAP_MB,
        peakRssMb: round(peakRssMb, 1),
        peakRssUnderCap: peakRssMb < HEAP_CAP_MB,
        rssBeforeOutageMb: peakOf('before'),
        peakRssDuringOutageMb: peakOf('outage'),
        peakRssAfterOutageMb: peakOf('after'),
        attemptLogBufferBytes: 16 * MB,
        // Read from /metrics once a second; null when no scrape answered during the outage.
        peakAttemptLogBufferedBytes: scrapeFailures.outage < scrapes.outage ? peakBufferedBytes : null,
        peakAttemptLogBufferedRows: scrapeFailures.outage < scrapes.outage ? peakBufferedRows : null,
        metricsScrapes: scrapes,
        metricsScrapesFailed: scrapeFailures,
        samples: samples.length,
      },
      attemptLog: {
        attemptsSeenByReceiver: requests,
        rowsInDatabase: rows.total,
        rowsWithResponseBody: rows.withBody,
        rowsMissing: requests - rows.total,
        bufferFlushedAfterOutage: flushed,
        degraded: {
          responseBodyDropped: degraded('response_body_dropped'),
          rowDroppedBufferFull: degraded('row_dropped_buffer_full'),
          rowStoredWithoutTexts: degraded('row_stored_without_texts'),
          rowDroppedUnstorable: degraded('row_dropped_unstorable'),
        },
        writeFailures: {
          transient: metric(finalMetrics, 'hookstream_write_failures_total', 'kind="transient"'),
          data: metric(finalMetrics, 'hookstream_write_failures_total', 'kind="data"'),
        },
      },
      perEndpoint,
      outageSeconds: outageS,
      pgStopExit: stopCode,
      pgStartExit: startCode,
      unplannedServiceExit: serviceExited,
      drained,
      durationSeconds: elapsedS(),
      setup: {
        smoke: SMOKE,
        ...CONFIG,
        publishedWithinSecondsOfOutage: round(publishMs / 1000, 1),
        serviceEnv: { ...env, DATABASE_URL: '(fresh database)' },
        receiver: `every delivery answered 200 with a ${CONFIG.responseBodyBytes}-byte body`,
      },
      memorySamples: samples.filter((_, i) => i % 4 === 0),
      machine: machineInfo(ROOT),
    };
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const file = SMOKE ? 'pg-outage-smoke.json' : 'pg-outage-latest.json';
    writeFileSync(join(outDir, file), `${JSON.stringify(report, null, 2)}\n`);
    printReport(report);
    log(`wrote bench/results/${file}`);
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    clearInterval(sampler);
    clearInterval(metricsSampler);
    if (pgStopped) await infra('pg-start');
    await producer?.disconnect().catch(() => undefined);
    await service?.stop();
    await receiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic]);
    await database?.drop().catch(() => undefined);
  }
}

/** Rows of the attempt log in the run's database, and how many kept their response body. */
async function attemptRows(url: string): Promise<{ total: number; withBody: number }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ total: string; with_body: string }>(
      'SELECT count(*) AS total, count(response_body) AS with_body FROM delivery_attempts',
    );
    return { total: Number(result.rows[0].total), withBody: Number(result.rows[0].with_body) };
  } finally {
    await client.end();
  }
}

function printReport(report: Record<string, unknown>): void {
  console.log('');
  for (const key of [
    'published',
    'expectedDeliveries',
    'delivered',
    'lost',
    'duplicates',
    'deliveredDuringOutage',
    'outageSeconds',
    'durationSeconds',
    'ok',
  ]) {
    console.log(`${key.padEnd(24)} ${String(report[key])}`);
  }
  console.log(`memory      ${JSON.stringify(report.memory)}`);
  console.log(`attempt log ${JSON.stringify(report.attemptLog)}`);
  console.log('');
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error('[pg-outage] failed:', error);
    process.exit(1);
  },
);
