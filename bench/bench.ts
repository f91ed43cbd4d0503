/**
 * `npm run bench`: Hookstream against the physical ceilings of this machine, in one run.
 *
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
import type { Message, Producer } from 'kafkajs';
import { Pool } from 'undici';
import { Api } from './lib/api';
import { CONFIG, ENDPOINTS, kafka, num, QUICK, SERVICE_CONCURRENCY } from './lib/config';
import { createDatabase, type BenchDatabase } from './lib/db';
import {
  cloudEvent,
  connectedProducer,
  deleteNamespaceTopics,
  uniqueNamespace,
  withAdmin,
} from './lib/kafka';
import {
  createTenants,
  e2eRun,
  latencyRun,
  log,
  publish,
  untilProgressing,
  warmUp,
  watchedServices,
  watchServices,
  killWatchedServices,
  type Tenant,
} from './lib/phases';
import { outboxPhase, type OutboxResult } from './lib/outbox';
import { Receiver } from './lib/receiver';
import { cataloguePhase, type CatalogueResult } from './lib/catalogue';
import { orderedKeysPhase, type OrderedKeysResult } from './lib/ordered-keys';
import { childrenOf, ensureServiceBuilt, ROOT, startService, until, type Service } from './lib/service';
import { withPhaseService } from './lib/phase-service';
import { machineInfo, round } from './lib/stats';
import { renderChart } from './lib/chart';
import { CpuMeter, cpuPerDeliveryUs, type CpuShares } from './lib/cpu';
import { ingestPhase, type IngestResult } from './lib/ingest';
import { httpAdapterPhase, type HttpAdapterResult } from './lib/http-adapter';
import { summariseNewestProfile } from './lib/profile';
import { BACKFILL_EVENTS, backfillPhase, type BackfillResult } from './lib/backfill';
import {
  NOISY_NEIGHBOUR_LIMITS,
  noisyNeighbourPhase,
  type NoisyNeighbourResult,
} from './lib/noisy-neighbour';

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

    const httpCeilingPerSec = await httpCeiling(receiver);
    log(`http ceiling: ${round(httpCeilingPerSec, 0)}/s at concurrency ${SERVICE_CONCURRENCY}`);

    const kafkaConsumeCeilingPerSec = await kafkaConsumeCeiling(ceilingTopic);
    log(`kafka consume ceiling: ${round(kafkaConsumeCeilingPerSec, 0)}/s`);

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
    const isolationTenant = tenants[0];
    // Endpoints reach the in-memory cache by LISTEN/NOTIFY; a warm-up round proves every one is there.
    producer = await connectedProducer(kafka);
    await warmUp(producer, inputTopic, tenants, receiver);
    // Where the CPU went in each phase: the service's one JavaScript thread, or the machine.
    const cpu: Record<string, CpuShares | null> = {};
    const servicePid = service.pid;
    const measured = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
      const meter = CpuMeter.start(() => [servicePid]);
      try {
        return await work();
      } finally {
        cpu[phase] = meter?.stop() ?? null;
      }
    };

    const errors: Record<string, string> = {};
    // The phases on services of their own come first, while this one is idle (after the backfill
    // it still works off its tail, which took up to 0.7 of a core from them in one run).
    // HTTP ingest on its own api-only service (issue 21); this service idles meanwhile, so the
    // phase's machine shares show the ingest service under "other" and its own CPU in the result.
    // Once with the bench's workers and once with one process, to show what the workers add.
    const ingestRuns: Record<string, IngestResult | null> = { ingest: null, ingestOneWorker: null };
    for (const [phase, workers] of [
      ['ingest', WORKERS],
      ['ingestOneWorker', '1'],
    ] as const) {
      try {
        const result = await measured(phase, () => ingestPhase({ workers }));
        ingestRuns[phase] = result;
        for (const mode of result.results) {
          log(
            `${phase} ${mode.mode}: ${mode.eventsPerSec} events/s, p50 ${mode.p50Ms} ms, p99 ${mode.p99Ms} ms, ${mode.serviceCpuMsPerEvent} ms CPU/event`,
          );
        }
      } catch (error) {
        errors[phase] = (error as Error).message;
        log(`${phase} FAILED: ${(error as Error).message}`);
      }
    }
    const { ingest, ingestOneWorker } = ingestRuns;

    // The HTTP adapter alone (issue 21 item 1): a minimal Nest app on Express and on Fastify with
    // the service's pipes and DTO, in child processes of its own while this service idles.
    let httpAdapter: HttpAdapterResult | null = null;
    try {
      httpAdapter = await measured('httpAdapter', () => httpAdapterPhase());
      for (const variant of httpAdapter.variants) {
        log(
          `httpAdapter ${variant.name}: ${variant.median.requestsPerSec} requests/s, p50 ${variant.median.p50Ms} ms, p99 ${variant.median.p99Ms} ms, ${variant.median.cpuUsPerRequest} µs CPU/request`,
        );
      }
    } catch (error) {
      errors.httpAdapter = (error as Error).message;
      log(`httpAdapter FAILED: ${(error as Error).message}`);
    }

    // The e2e phase again on a one-process service (HOOKSTREAM_WORKERS=1), this one idle meanwhile.
    let e2eOneWorker: Awaited<ReturnType<typeof oneWorkerE2e>> | null = null;
    try {
      e2eOneWorker = await oneWorkerE2e();
      log(`e2e fan-out 1, one worker: ${e2eOneWorker.deliveriesPerSec} deliveries/s`);
    } catch (error) {
      errors.e2eOneWorker = (error as Error).message;
      log(`e2e one worker FAILED: ${(error as Error).message}`);
    }

    const e2eDeliveriesPerSec = await measured('e2eFanout1', () =>
      e2eRun(producer!, inputTopic, tenants, receiver, 'f1', CONFIG.e2eEvents),
    );
    log(`e2e fan-out 1: ${round(e2eDeliveriesPerSec, 0)} deliveries/s`);

    const latency: Array<{
      rate: number;
      p50Ms: number;
      p99Ms: number;
      delivered: number;
      published: number;
    }> = [];
    for (const rate of CONFIG.latencyRates) {
      const result = await measured(`latency${rate}`, () =>
        latencyRun(producer!, inputTopic, tenants, receiver, rate, `${namespace}.deliveries`),
      );
      latency.push(result);
      log(
        `latency at ${rate}/s: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (${result.delivered} delivered)`,
      );
    }

    let isolation: {
      ratio: number | null;
      healthyAlonePerSec?: number;
      healthyWithBadPerSec?: number;
      ratioByRound?: number[];
      healthyEndpoints: number;
      events: number;
      rounds: number;
      hangRequests?: number;
      status500Requests?: number;
    } = { ratio: null, healthyEndpoints: 10, events: CONFIG.isolationEvents, rounds: CONFIG.isolationRounds };
    try {
      // Alternated rounds cancel the machine's drift; the CPU shares are the last round's.
      const alone: number[] = [];
      const withBad: number[] = [];
      let hangRequests = 0;
      let status500Requests = 0;
      for (let pass = 1; pass <= CONFIG.isolationRounds; pass++) {
        const healthyAlone = await measured('isolationAlone', () =>
          isolationRun(producer!, inputTopic, isolationTenant, receiver, 'iso.good'),
        );
        alone.push(healthyAlone.perSec);
        log(`isolation round ${pass}, healthy alone: ${Math.round(healthyAlone.perSec)}/s`);
        const healthyWithBad = await measured('isolationWithBad', () =>
          isolationRun(producer!, inputTopic, isolationTenant, receiver, 'iso.bad'),
        );
        withBad.push(healthyWithBad.perSec);
        hangRequests += healthyWithBad.hangRequests;
        status500Requests += healthyWithBad.failRequests;
        log(`isolation round ${pass}, healthy beside hang + 500: ${Math.round(healthyWithBad.perSec)}/s`);
      }
      const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
      isolation = {
        ratio: round(mean(withBad) / mean(alone), 3),
        healthyAlonePerSec: round(mean(alone), 0),
        healthyWithBadPerSec: round(mean(withBad), 0),
        ratioByRound: alone.map((perSec, index) => round(withBad[index] / perSec, 3)),
        healthyEndpoints: 10,
        events: CONFIG.isolationEvents,
        rounds: CONFIG.isolationRounds,
        hangRequests,
        status500Requests,
      };
    } catch (error) {
      errors.isolation = (error as Error).message;
      log(`isolation FAILED: ${(error as Error).message}`);
    }

    let catalogue: CatalogueResult | null = null;
    try {
      catalogue = await measured('catalogue', () =>
        cataloguePhase({
          admin,
          serviceUrl: service!.url,
          producer: producer!,
          topic: inputTopic,
          tenants,
          receiver,
        }),
      );
      log(
        `catalogue: fan-out ${catalogue.fanoutDeliveriesPerSec.reject} / ${catalogue.fanoutDeliveriesPerSec.off} per s validating / not (ratio ${catalogue.fanoutRatio}); POST p99 ${catalogue.ingest.p99Ms.reject} / ${catalogue.ingest.p99Ms.off} ms`,
      );
    } catch (error) {
      errors.catalogue = (error as Error).message;
      log(`catalogue FAILED: ${(error as Error).message}`);
    }

    let orderedKeys: OrderedKeysResult | null = null;
    try {
      orderedKeys = await measured('orderedKeys', () =>
        orderedKeysPhase({ admin, producer: producer!, topic: inputTopic, receiver }),
      );
      log(
        `ordered keys: ${orderedKeys.keyedDeliveriesPerSec}/s over ${orderedKeys.keys} keys vs ${orderedKeys.serialDeliveriesPerSec}/s one at a time (ratio ${orderedKeys.ratio}), order violations ${orderedKeys.orderViolations}`,
      );
    } catch (error) {
      errors.orderedKeys = (error as Error).message;
      log(`ordered keys FAILED: ${(error as Error).message}`);
    }

    let noisyNeighbour: NoisyNeighbourResult | null = null;
    try {
      noisyNeighbour = await noisyNeighbourPhase({
        admin,
        serviceUrl: service.url,
        producer,
        topic: inputTopic,
        receiver,
        measured,
      });
      log(
        `noisy neighbour: quiet ${noisyNeighbour.quietWithNoisePerSec} / ${noisyNeighbour.quietAlonePerSec} per s (ratio ${noisyNeighbour.throughputRatio}), p99 ${noisyNeighbour.quietAloneP99Ms} / ${noisyNeighbour.quietWithNoiseP99Ms} ms (ratio ${noisyNeighbour.p99Ratio})`,
      );
    } catch (error) {
      errors.noisyNeighbour = (error as Error).message;
      log(`noisy neighbour FAILED: ${(error as Error).message}`);
    }

    // Fan-out 5 last: its burst (each input batch becomes 5x the tasks) is the likeliest to break the
    // pipeline, and a failure here is recorded without costing the other figures.
    let e2eFanout5DeliveriesPerSec: number | null = null;
    try {
      e2eFanout5DeliveriesPerSec = await measured('e2eFanout5', () =>
        e2eRun(producer!, inputTopic, tenants, receiver, 'f5', CONFIG.e2eFanout5Events),
      );
      log(`e2e fan-out 5: ${round(e2eFanout5DeliveriesPerSec, 0)} deliveries/s`);
    } catch (error) {
      errors.e2eFanout5DeliveriesPerSec = (error as Error).message;
      log(`e2e fan-out 5 FAILED: ${(error as Error).message}`);
    }

    // The publisher library's outbox (issue 18): relay throughput and commit -> delivery latency.
    let outbox: OutboxResult | null = null;
    try {
      const sinkTopic = `${namespace}.outbox-sink`;
      const kafkaAdmin = kafka.admin();
      await kafkaAdmin.connect();
      await kafkaAdmin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: sinkTopic, numPartitions: 3 }],
      });
      await kafkaAdmin.disconnect();
      outbox = await measured('outbox', () =>
        outboxPhase({ admin, databaseUrl: database!.url, inputTopic, sinkTopic, receiver }),
      );
      log(
        `outbox: relay ${outbox.relayRowsPerSec} rows/s; commit -> delivery p50/p99 ${outbox.latency[0].p50Ms}/${outbox.latency[0].p99Ms} ms (direct ${outbox.latency[1].p50Ms}/${outbox.latency[1].p99Ms} ms)`,
      );
    } catch (error) {
      errors.outbox = (error as Error).message;
      log(`outbox FAILED: ${(error as Error).message}`);
    }
    // The backfill last: a million events through one job, its deliveries drained before it ends.
    let backfill: BackfillResult | null = null;
    try {
      backfill = await measured('backfill', () =>
        backfillPhase({
          admin,
          servicePid,
          producer: producer!,
          topic: inputTopic,
          receiver,
          drainTimeoutMs: num('BENCH_BACKFILL_TIMEOUT_S', 3_600, 120) * 1000,
        }),
      );
      log(
        `backfill: ${backfill.events} events, job ${backfill.jobSeconds} s (${backfill.jobEventsPerSec}/s), all delivered after ${backfill.allDeliveredSeconds} s, peak RSS ${backfill.peakRssMb} MB`,
      );
    } catch (error) {
      errors.backfill = (error as Error).message;
      log(`backfill FAILED: ${(error as Error).message}`);
    }

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

/** The fan-out 1 e2e run on a service of one process, set up as the bench's own. */
async function oneWorkerE2e(): Promise<{
  deliveriesPerSec: number;
  cpuPerDeliveryUs: ReturnType<typeof cpuPerDeliveryUs>;
  cpu: CpuShares | null;
}> {
  return withPhaseService(
    {
      namespace: QUICK ? 'e2e1-smoke' : 'e2e1',
      database: 'hs_bench_e2e1',
      label: 'bench-e2e-one-worker',
      env: { HOOKSTREAM_WORKERS: '1' },
    },
    async ({ receiver, inputTopic, service, producer }) => {
      const before = watchedServices();
      watchServices([...before, service]);
      const tenants = await createTenants(new Api(service.url), receiver);
      await warmUp(producer, inputTopic, tenants, receiver);
      const servicePid = service.pid;
      const meter = CpuMeter.start(() => [servicePid]);
      const perSec = await e2eRun(producer, inputTopic, tenants, receiver, 'f1', CONFIG.e2eEvents);
      watchServices(before);
      const cpu = meter?.stop() ?? null;
      return {
        deliveriesPerSec: round(perSec, 0),
        cpuPerDeliveryUs: cpuPerDeliveryUs(cpu, CONFIG.e2eEvents),
        cpu,
      };
    },
  );
}

/** undici POSTs of a delivery-sized body to the receiver at the service's concurrency. */
async function httpCeiling(receiver: Receiver): Promise<number> {
  receiver.setHandler(() => undefined);
  const pool = new Pool(`http://127.0.0.1:${receiver.port}`, { connections: SERVICE_CONCURRENCY });
  const body = JSON.stringify({
    type: 'x',
    timestamp: new Date().toISOString(),
    data: { pad: 'x'.repeat(300) },
  });
  const headers = { 'content-type': 'application/json', 'webhook-id': 'ceiling' };
  const warmupEnd = Date.now() + 500;
  const end = warmupEnd + CONFIG.httpCeilingSeconds * 1000;
  let counted = 0;
  let countStart = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const response = await pool.request({ path: '/ceiling', method: 'POST', headers, body });
      await response.body.dump();
      if (response.statusCode >= 300) throw new Error(`receiver answered ${response.statusCode}`);
      const now = Date.now();
      if (now >= warmupEnd) {
        if (!countStart) countStart = now;
        counted++;
      }
    }
  };
  await Promise.all(Array.from({ length: SERVICE_CONCURRENCY }, worker));
  const elapsed = Date.now() - countStart;
  await pool.close();
  return (counted / elapsed) * 1000;
}

/** A bare kafkajs consumer (eachBatch, nothing else) reading a pre-filled topic of ~400-byte values. */
async function kafkaConsumeCeiling(topic: string): Promise<number> {
  const total = CONFIG.kafkaCeilingMessages;
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      topics: [{ topic, numPartitions: CONFIG.deliveryPartitions }],
      waitForLeaders: true,
    }),
  );
  const producer = await connectedProducer(kafka);
  const value = Buffer.alloc(CONFIG.valueBytes, 'x');
  const batch = 1000;
  const inFlight: Array<Promise<unknown>> = [];
  for (let sent = 0; sent < total; sent += batch) {
    const count = Math.min(batch, total - sent);
    const messages: Message[] = Array.from({ length: count }, (_, i) => ({
      key: `k${(sent + i) % 997}`,
      value,
    }));
    inFlight.push(producer.send({ topic, acks: 1, messages }));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-ceiling`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let consumed = 0;
  let first = 0;
  let last = 0;
  // Timed from the group join (the first fetch follows it) to the last batch.
  consumer.on(consumer.events.GROUP_JOIN, () => {
    first ||= Date.now();
  });
  await consumer.run({
    partitionsConsumedConcurrently: CONFIG.deliveryPartitions,
    eachBatch: async ({ batch: b }) => {
      consumed += b.messages.length;
      last = Date.now();
    },
  });
  const done = await until(() => consumed >= total, 120_000, 10);
  await consumer.disconnect();
  if (!done) throw new Error(`kafka ceiling: consumed ${consumed} of ${total} within 120 s`);
  return (consumed / Math.max(1, last - first)) * 1000;
}

/** Healthy throughput over 10 endpoints; with `iso.bad` a hanging and a 500 endpoint also match. */
async function isolationRun(
  producer: Producer,
  topic: string,
  tenant: Tenant,
  receiver: Receiver,
  type: 'iso.good' | 'iso.bad',
): Promise<{ perSec: number; hangRequests: number; failRequests: number }> {
  const events = CONFIG.isolationEvents;
  const expected = events * 10;
  const ids = new Set<string>();
  let lastAt = 0;
  let hangRequests = 0;
  let failRequests = 0;
  receiver.setHandler((d) => {
    if (d.path === '/iso/hang') {
      hangRequests++;
      return 'hang';
    }
    if (d.path === '/iso/500') {
      failRequests++;
      return 500;
    }
    if (!d.path.startsWith('/iso/ok/')) return undefined;
    const key = `${d.path}|${d.webhookId}`;
    if (!ids.has(key)) {
      ids.add(key);
      lastAt = d.receivedAtMs;
    }
    return undefined;
  });
  const messages = Array.from({ length: events }, (_, seq) =>
    cloudEvent({ tenantId: tenant.id, type, seq, targetBytes: CONFIG.valueBytes }),
  );
  const start = Date.now();
  await publish(producer, topic, new Map([[tenant, messages]]));
  await untilProgressing(
    () => ids.size >= expected,
    () => ids.size,
    `isolation ${type}: ${expected} healthy deliveries expected`,
  );
  return { perSec: (expected / (lastAt - start)) * 1000, hangRequests, failRequests };
}

function targetCheck(
  http: number,
  kafkaCeiling: number,
  e2e: number,
  latency: Array<{ rate: number; p99Ms: number }>,
  isolationRatio: number | null,
  noisy: NoisyNeighbourResult | null,
  rss: number,
  orderedKeys: OrderedKeysResult | null,
): Record<string, { target: string; value: number; met: boolean }> {
  const lower = Math.min(http, kafkaCeiling);
  const p99At1000 = latency.find((l) => l.rate === 1000)?.p99Ms ?? NaN;
  return {
    e2eVsLowerCeiling: {
      target: '>= 0.5 x min(httpCeiling, kafkaConsumeCeiling)',
      value: round(e2e / lower, 3),
      met: e2e >= lower / 2,
    },
    p99At1000: { target: '< 50 ms', value: p99At1000, met: p99At1000 < 50 },
    isolationRatio: {
      target: '>= 0.9',
      value: isolationRatio ?? NaN,
      met: isolationRatio !== null && isolationRatio >= 0.9,
    },
    noisyNeighbourThroughput: {
      target: '>= 0.9 (quiet deliveries/s with noise / alone)',
      value: noisy?.throughputRatio ?? NaN,
      met: noisy !== null && noisy.throughputRatio >= noisy.target,
    },
    noisyNeighbourP99: {
      target: '>= 0.9 (quiet p99 alone / with noise)',
      value: noisy?.p99Ratio ?? NaN,
      met: noisy !== null && noisy.p99Ratio >= noisy.target,
    },
    peakRssMb: { target: '< 512 MB', value: rss, met: rss < 512 },
    orderedKeysRatio: {
      target: '>= 20 x one at a time, 0 order violations per key',
      value: orderedKeys?.ratio ?? NaN,
      met: orderedKeys !== null && orderedKeys.ratio >= 20 && orderedKeys.orderViolations === 0,
    },
  };
}

function ingestRows(ingest: IngestResult | null): Array<[string, string]> {
  if (ingest === null) return [['ingest (POST /v1/events)', 'FAILED (see errors)']];
  return ingest.results.map((mode): [string, string] => [
    `ingest ${mode.mode} (${mode.eventsPerRequest}/request, ${ingest.connections} in flight): events/s, p50 / p99, CPU/event`,
    `${fmt(mode.eventsPerSec)}, ${mode.p50Ms} / ${mode.p99Ms} ms, ${mode.serviceCpuMsPerEvent ?? 'n/a'} ms`,
  ]);
}

function printTable(results: {
  httpCeilingPerSec: number;
  kafkaConsumeCeilingPerSec: number;
  e2eDeliveriesPerSec: number;
  workers: { setting: string; processes: number };
  e2eOneWorker: { deliveriesPerSec: number } | null;
  e2eCpuPerDeliveryUs: { service: number; serviceAndBroker: number } | null;
  e2eFanout5DeliveriesPerSec: number | null;
  latency: Array<{ rate: number; p50Ms: number; p99Ms: number }>;
  isolation: { ratio: number | null; healthyAlonePerSec?: number; healthyWithBadPerSec?: number };
  noisyNeighbour: NoisyNeighbourResult | null;
  backfill: BackfillResult | null;
  ingest: IngestResult | null;
  orderedKeys: OrderedKeysResult | null;
  peakRssMb: number;
  cpuPercentOfOneCore: Record<string, CpuShares | null>;
  targets: Record<string, { target: string; value: number; met: boolean }>;
}): void {
  const rows: Array<[string, string]> = [
    [`httpCeilingPerSec (undici, concurrency ${SERVICE_CONCURRENCY})`, fmt(results.httpCeilingPerSec)],
    ['kafkaConsumeCeilingPerSec (kafkajs, 400 B values)', fmt(results.kafkaConsumeCeilingPerSec)],
    [
      `e2eDeliveriesPerSec (fan-out 1, ${ENDPOINTS} endpoints, maxConcurrency ${CONFIG.endpointMaxConcurrency})`,
      `${fmt(results.e2eDeliveriesPerSec)} (${results.workers.processes} workers)`,
    ],
    [
      'e2eOneWorker.deliveriesPerSec (the same, HOOKSTREAM_WORKERS=1)',
      results.e2eOneWorker === null ? 'FAILED (see errors)' : fmt(results.e2eOneWorker.deliveriesPerSec),
    ],
    [
      'e2eCpuPerDeliveryUs (fan-out 1): service / service + broker',
      results.e2eCpuPerDeliveryUs
        ? `${results.e2eCpuPerDeliveryUs.service} / ${results.e2eCpuPerDeliveryUs.serviceAndBroker} µs`
        : 'n/a (no /proc)',
    ],
    [
      'e2eFanout5DeliveriesPerSec (fan-out 5)',
      results.e2eFanout5DeliveriesPerSec === null
        ? 'FAILED (see errors)'
        : fmt(results.e2eFanout5DeliveriesPerSec),
    ],
    ...results.latency.map((l): [string, string] => [
      `latency at ${fmt(l.rate)} events/s: p50 / p99`,
      `${l.p50Ms} / ${l.p99Ms} ms`,
    ]),
    [
      'isolation.ratio (healthy with bad / alone)',
      results.isolation.ratio === null
        ? 'FAILED (see errors)'
        : `${results.isolation.ratio} (${fmt(results.isolation.healthyWithBadPerSec ?? 0)} / ${fmt(results.isolation.healthyAlonePerSec ?? 0)} per s)`,
    ],
    ...noisyRows(results.noisyNeighbour),
    [
      `backfill (${fmt(BACKFILL_EVENTS)} events): job s (events/s), all delivered s, peak RSS`,
      results.backfill === null
        ? 'FAILED (see errors)'
        : `${results.backfill.jobSeconds} s (${fmt(results.backfill.jobEventsPerSec)}/s), ${results.backfill.allDeliveredSeconds} s, ${results.backfill.peakRssMb} MB`,
    ],
    ...ingestRows(results.ingest),
    [
      'orderedKeys (1,000 keys vs one at a time, 20 ms receiver)',
      results.orderedKeys === null
        ? 'failed'
        : `${fmt(results.orderedKeys.keyedDeliveriesPerSec)}/s vs ${results.orderedKeys.serialDeliveriesPerSec}/s (${results.orderedKeys.ratio}x), ${results.orderedKeys.orderViolations} order violations`,
    ],
    ['peakRssMb (VmHWM of the largest service process)', `${results.peakRssMb} MB`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log('');
  console.log(`${'metric'.padEnd(width)}  value`);
  console.log(`${'-'.repeat(width)}  ${'-'.repeat(30)}`);
  for (const [key, value] of rows) console.log(`${key.padEnd(width)}  ${value}`);
  console.log('');
  console.log('CPU by phase, % of one core: service / kafka / postgres / bench / other / idle');
  for (const [phase, shares] of Object.entries(results.cpuPercentOfOneCore)) {
    const line = shares
      ? [shares.service, shares.kafka, shares.postgres, shares.bench, shares.other, shares.idle].join(' / ')
      : 'n/a (no /proc)';
    console.log(`  ${phase.padEnd(18)} ${line}`);
  }
  console.log('');
  for (const [name, t] of Object.entries(results.targets)) {
    console.log(
      `target ${name.padEnd(18)} ${t.target.padEnd(46)} ${String(t.value).padEnd(8)} ${t.met ? 'met' : 'MISSED'}`,
    );
  }
  console.log('');
}

function noisyRows(noisy: NoisyNeighbourResult | null): Array<[string, string]> {
  if (!noisy) return [['noisyNeighbour', 'FAILED (see errors)']];
  const { ingestFlood, inFlight } = noisy.noisy;
  return [
    [
      'noisyNeighbour.throughputRatio (quiet with noise / alone)',
      `${noisy.throughputRatio} (${fmt(noisy.quietWithNoisePerSec)} / ${fmt(noisy.quietAlonePerSec)} per s)`,
    ],
    [
      'noisyNeighbour.p99Ratio (quiet p99 alone / with noise)',
      `${noisy.p99Ratio} (${noisy.quietAloneP99Ms} / ${noisy.quietWithNoiseP99Ms} ms)`,
    ],
    [
      'noisyNeighbour: noisy tenant 429s / REST requests',
      `${fmt(ingestFlood.rejected429)} / ${fmt(ingestFlood.sent)} (${fmt(ingestFlood.accepted)} accepted)`,
    ],
    [
      'noisyNeighbour: noisy in flight, peak / mean of 512 slots',
      `${inFlight.peak} / ${inFlight.mean} (tenant cap ${inFlight.tenantCap})`,
    ],
  ];
}

/** The service's CPU profile (written when it exits), summarised into bench/results/profile.json. */
function writeProfileSummary(dir: string): void {
  const summary = summariseNewestProfile(dir);
  if (!summary) {
    log(`no .cpuprofile in ${dir}`);
    return;
  }
  writeFileSync(join(ROOT, 'bench', 'results', 'profile.json'), `${JSON.stringify(summary, null, 2)}\n`);
  log(
    `service CPU profile: ${summary.sampledMs} ms sampled, ${summary.idlePercent}% idle; busy time by source:`,
  );
  for (const [source, percent] of Object.entries(summary.busyPercentBySource).slice(0, 15)) {
    console.log(`  ${String(percent).padStart(5)}%  ${source}`);
  }
  log('wrote bench/results/profile.json');
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error('[bench] failed:', error);
    process.exit(1);
  },
);
