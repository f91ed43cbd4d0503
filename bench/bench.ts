/**
 * `npm run bench`: Hookstream against the physical ceilings of this machine, in one run.
 *
 *   (first, measured by none)   BENCH_BROKER_WARMUP_S (60) of produce, transaction and fetch traffic, so
 *                               every phase meets a warm broker (bench/lib/broker-warmup.ts)
 *   httpCeilingPerSec           undici POSTs to the same receiver at the service's concurrency
 *   kafkaConsumeCeilingPerSec   a bare kafkajs consumer reading a pre-filled, delivery-sized topic
 *   e2eDeliveriesPerSec         produce -> 2xx at the receiver, fan-out 1
 *   e2eFanout5DeliveriesPerSec  the same, every event matching 5 endpoints
 *   latency                     event-to-delivery p50/p99 at fixed publish rates
 *   isolation                   10 healthy endpoints alone vs. beside one that hangs and one that 500s,
 *                               alternated 3 times (BENCH_ISOLATION_ROUNDS); ratio of the mean rates
 *   noisyNeighbour              3 quiet tenants' deliveries/s and p99 alone vs. beside a tenant whose
 *                               endpoints hang or crawl at maxConcurrency 100, fed to fill its in-flight
 *                               share, flooding POST /v1/events past its ingest rate (bench/lib/
 *                               noisy-neighbour.ts); alternated 3 times (BENCH_NN_ROUNDS)
 *   backfill                    a window replay job over BENCH_BACKFILL_EVENTS (1,000,000) events of one
 *                               tenant published before its endpoint existed: the job's duration and
 *                               rate, time until every event reached the receiver, peak RSS meanwhile
 *                               (bench/lib/backfill.ts; alone: `npm run bench:backfill`)
 *   catalogue                   the event catalogue's cost: fan-out 1 deliveries/s and POST /v1/events
 *                               p50/p99 with each type's schema validating vs. not, alternated
 *                               (bench/lib/catalogue.ts; BENCH_CATALOGUE_ROUNDS, BENCH_CATALOGUE_EVENTS)
 *   orderedKeys                 in order per key without one at a time: deliveries/s to one endpoint whose
 *                               receiver answers after 20 ms, 1,000 distinct partitionkeys at
 *                               maxConcurrency 100, vs. the same receiver keyless at maxConcurrency 1;
 *                               the ratio (target >= 20) and per-key order violations counted by the
 *                               receiver (must be 0) (bench/lib/ordered-keys.ts; alone:
 *                               `npm run bench:ordered-keys`; BENCH_ORDERED_KEYS_EVENTS, _KEYS)
 *   httpAdapter                 a minimal Nest app with the service's pipes and POST /v1/events DTO on
 *                               Express vs. Fastify, and bare: requests/s, p50/p99, CPU µs/request
 *                               (bench/lib/http-adapter.ts; alone: `npm run bench:http-adapter`)
 *   peakRssMb                   the service's VmHWM at the end
 *
 * BENCH_QUICK=1 (`npm run bench:smoke`) runs a tiny variant with no timing assertion and writes
 * bench/results/smoke.json instead of latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { Api } from './lib/api';
import { BACKFILL_EVENTS } from './lib/backfill';
import { warmBroker } from './lib/broker-warmup';
import { printTable, targetCheck, writeProfileSummary } from './lib/bench-report';
import {
  attempt,
  runBackfill,
  runCatalogue,
  runE2e,
  runE2eOneWorker,
  runHttpAdapter,
  runIngest,
  runLatency,
  runNoisyNeighbour,
  runOrderedKeys,
  runOutbox,
  type BenchRunContext,
} from './lib/bench-runs';
import { httpCeiling, kafkaConsumeCeiling } from './lib/ceilings';
import { renderChart } from './lib/chart';
import { CONFIG, ENDPOINTS, kafka, num, QUICK, SERVICE_CONCURRENCY } from './lib/config';
import { CpuMeter, cpuPerDeliveryUs, type CpuShares } from './lib/cpu';
import { createDatabase, type BenchDatabase } from './lib/db';
import { isolationNotMeasured, isolationPhase } from './lib/isolation';
import { connectedProducer, deleteNamespaceTopics, uniqueNamespace } from './lib/kafka';
import { NOISY_NEIGHBOUR_LIMITS } from './lib/noisy-neighbour';
import { createTenants, killWatchedServices, log, warmUp, watchServices } from './lib/phases';
import { Receiver } from './lib/receiver';
import { childrenOf, ensureServiceBuilt, ROOT, startService, type Service } from './lib/service';
import { machineInfo, round } from './lib/stats';

/** HOOKSTREAM_WORKERS of the bench's service: the default `auto` (one per core) unless told. */
const WORKERS = process.env.BENCH_WORKERS ?? 'auto';

async function main(): Promise<void> {
  const started = Date.now();
  // The backfill phase adds about a second per thousand events (publish, replay, every delivery).
  const timeLimitMs =
    num('BENCH_TIME_LIMIT_S', 900 + BACKFILL_EVENTS / 1000, 180 + BACKFILL_EVENTS / 100) * 1000;
  const watchdog = setTimeout(() => {
    console.error(`[bench] over the time limit of ${timeLimitMs / 1000} s; giving up`);
    killWatchedServices();
    process.exit(2);
  }, timeLimitMs);
  watchdog.unref();

  await ensureServiceBuilt();
  const receiver = await new Receiver().start();
  const namespace = uniqueNamespace(QUICK ? 'smoke' : 'full');
  const inputTopic = `${namespace}.input`;
  const ceilingTopic = `${namespace}.ceiling`;
  let database: BenchDatabase | undefined;
  let service: Service | undefined;
  let producer: Producer | undefined;
  try {
    log(`quick=${QUICK} endpoints=${ENDPOINTS} maxConcurrency=${CONFIG.endpointMaxConcurrency}`);

    const brokerWarmUp = await warmBroker(namespace, CONFIG.brokerWarmUpSeconds);
    log(`broker warm-up: ${JSON.stringify(brokerWarmUp)}`);

    const httpCeilingPerSec = await httpCeiling(receiver);
    log(`http ceiling: ${round(httpCeilingPerSec, 0)}/s at concurrency ${SERVICE_CONCURRENCY}`);

    const kafkaConsumeCeilingPerSec = await kafkaConsumeCeiling(ceilingTopic);
    log(`kafka consume ceiling: ${round(kafkaConsumeCeilingPerSec, 0)}/s`);

    // Where the CPU went in each phase: the service's one JavaScript thread, or the machine.
    const cpu: Record<string, CpuShares | null> = {};
    const measured = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
      const meter = CpuMeter.start(() => (service ? [service.pid] : []));
      try {
        return await work();
      } finally {
        cpu[phase] = meter?.stop() ?? null;
      }
    };

    const errors: Record<string, string> = {};
    // The phases on services of their own come first, before this bench's service starts: an idle
    // two-worker service beside the ingest phase cost it 7-10 % (4,502 and 4,110 single events/s
    // against 4,983 and 4,386/s alone, alternated), which is the bench's, not the service's.
    // HTTP ingest on its own api-only service (issue 21), its CPU in the result and under "other".
    // With the bench's workers (half of them serving HTTP, the default), with every worker serving
    // it (decision 73 weighs the two), and with one process, to show what the workers add.
    const ingest = await attempt(errors, 'ingest', () => runIngest(measured, 'ingest', WORKERS));
    const ingestEveryWorker = await attempt(errors, 'ingestEveryWorker', () =>
      runIngest(measured, 'ingestEveryWorker', WORKERS, 'all'),
    );
    const ingestOneWorker = await attempt(errors, 'ingestOneWorker', () =>
      runIngest(measured, 'ingestOneWorker', '1'),
    );
    // The HTTP adapter alone (issue 21 item 1), in child processes of its own.
    const httpAdapter = await attempt(errors, 'httpAdapter', () => runHttpAdapter(measured));
    // The e2e phase on a one-process service (HOOKSTREAM_WORKERS=1).
    const e2eOneWorker = await attempt(errors, 'e2eOneWorker', runE2eOneWorker, 'e2e one worker');

    database = await createDatabase('hs_bench');
    service = await startService(
      {
        DATABASE_URL: database.url,
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: inputTopic,
        HOOKSTREAM_INPUT_PARTITIONS: String(CONFIG.tenants),
        HOOKSTREAM_DELIVERY_PARTITIONS: String(CONFIG.deliveryPartitions),
        HOOKSTREAM_RETRY_DELAYS: '1s,2s,5s',
        // The per-tenant limits, named so the noisy-neighbour result says which were in force.
        ...NOISY_NEIGHBOUR_LIMITS,
        HOOKSTREAM_WORKERS: WORKERS,
      },
      {
        label: 'bench-service',
        // Node refuses --cpu-prof in NODE_OPTIONS; it has to be a flag of the service's command line.
        nodeArgs: process.env.BENCH_PROFILE_DIR
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
          : [],
      },
    );
    watchServices([service]);
    const workerCount = Math.max(1, childrenOf(service.pid).length);
    const admin = new Api(service.url);
    const tenants = await createTenants(admin, receiver);
    // Endpoints reach the in-memory cache by LISTEN/NOTIFY; a warm-up round proves every one is there.
    producer = await connectedProducer(kafka);
    await warmUp(producer, inputTopic, tenants, receiver);
    const ctx: BenchRunContext = {
      namespace,
      databaseUrl: database.url,
      service,
      admin,
      producer,
      inputTopic,
      tenants,
      receiver,
      measured,
    };
    const e2eDeliveriesPerSec = await runE2e(ctx, 1);
    const latency = await runLatency(ctx);
    const isolation =
      (await attempt(errors, 'isolation', () => isolationPhase(ctx))) ?? isolationNotMeasured();
    const catalogue = await attempt(errors, 'catalogue', () => runCatalogue(ctx));
    const orderedKeys = await attempt(errors, 'orderedKeys', () => runOrderedKeys(ctx), 'ordered keys');
    const noisyNeighbour = await attempt(
      errors,
      'noisyNeighbour',
      () => runNoisyNeighbour(ctx),
      'noisy neighbour',
    );
    // Fan-out 5 last: its burst (each input batch becomes 5x the tasks) is the likeliest to break the
    // pipeline, and a failure here is recorded without costing the other figures.
    const e2eFanout5DeliveriesPerSec = await attempt(
      errors,
      'e2eFanout5DeliveriesPerSec',
      () => runE2e(ctx, 5),
      'e2e fan-out 5',
    );
    // The publisher library's outbox (issue 18): relay throughput and commit -> delivery latency.
    const outbox = await attempt(errors, 'outbox', () => runOutbox(ctx));
    // The backfill last: a million events through one job, its deliveries drained before it ends.
    const backfill = await attempt(errors, 'backfill', () => runBackfill(ctx));

    const peakRssMb = round(service.peakRssMb(), 1);
    const peakRssSumMb = round(service.peakRssSumMb(), 1);
    const results = {
      httpCeilingPerSec: round(httpCeilingPerSec, 0),
      kafkaConsumeCeilingPerSec: round(kafkaConsumeCeilingPerSec, 0),
      e2eDeliveriesPerSec: round(e2eDeliveriesPerSec, 0),
      workers: { setting: WORKERS, processes: workerCount },
      e2eOneWorker,
      // Fan-out 1: one delivery per event, so the phase's CPU over its events (issue 21, item 3).
      e2eCpuPerDeliveryUs: cpuPerDeliveryUs(cpu.e2eFanout1 ?? null, CONFIG.e2eEvents),
      e2eFanout5DeliveriesPerSec:
        e2eFanout5DeliveriesPerSec === null ? null : round(e2eFanout5DeliveriesPerSec, 0),
      latency: latency.map(({ rate, p50Ms, p99Ms }) => ({ rate, p50Ms, p99Ms })),
      isolation,
      noisyNeighbour,
      outbox,
      backfill,
      catalogue,
      ingest,
      ingestEveryWorker,
      ingestOneWorker,
      orderedKeys,
      httpAdapter,
      peakRssMb,
      peakRssSumMb,
      cpuPercentOfOneCore: cpu,
      targets: targetCheck(
        httpCeilingPerSec,
        kafkaConsumeCeilingPerSec,
        e2eDeliveriesPerSec,
        latency,
        isolation.ratio,
        noisyNeighbour,
        peakRssMb,
        orderedKeys,
      ),
      setup: {
        quick: QUICK,
        brokerWarmUp,
        endpoints: `${ENDPOINTS} endpoints over ${CONFIG.tenants} tenants (input partition per tenant); fan-out 1: each endpoint its own event type; fan-out 5: 5 endpoints per tenant on f5.*`,
        endpointMaxConcurrency: CONFIG.endpointMaxConcurrency,
        serviceHttpConcurrency: SERVICE_CONCURRENCY,
        deliveryPartitions: CONFIG.deliveryPartitions,
        eventValueBytes: CONFIG.valueBytes,
        e2eEvents: CONFIG.e2eEvents,
        e2eFanout5Events: CONFIG.e2eFanout5Events,
        backfillEvents: BACKFILL_EVENTS,
        kafkaCeilingMessages: CONFIG.kafkaCeilingMessages,
        httpCeilingSeconds: CONFIG.httpCeilingSeconds,
        latencySecondsPerRate: CONFIG.latencySeconds,
        latencyDetail: latency,
        receiver: 'node:http on 127.0.0.1 answering 204 at once, in the bench process',
        note: 'service, broker, PostgreSQL, producer and receiver share the same host and CPUs',
      },
      errors,
      machine: machineInfo(ROOT),
      durationS: round((Date.now() - started) / 1000, 0),
    };
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const name = QUICK ? 'smoke' : 'latest';
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(outDir, `${name}.svg`), renderChart(results));
    printTable(results);
    log(`wrote bench/results/${name}.json and ${name}.svg`);
    if (Object.keys(errors).length) {
      console.error(`[bench] failed phases: ${JSON.stringify(errors, null, 2)}`);
      process.exitCode = 1;
    }
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await service?.stop();
    if (process.env.BENCH_PROFILE_DIR) writeProfileSummary(process.env.BENCH_PROFILE_DIR);
    await receiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic, ceilingTopic]);
    await database?.drop().catch(() => undefined);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error('[bench] failed:', error);
    process.exit(1);
  },
);
