/**
 * The phases of `npm run bench` as bench/bench.ts runs them: each one's call with the bench's
 * arguments, under the CPU meter, and the line it logs when done; attempt() records a phase that
 * fails, so the others still run.
 */
import type { Producer } from 'kafkajs';
import { Api } from './api';
import { backfillPhase, type BackfillResult } from './backfill';
import { cataloguePhase, type CatalogueResult } from './catalogue';
import { CONFIG, kafka, num, QUICK } from './config';
import { CpuMeter, cpuPerDeliveryUs, type CpuShares } from './cpu';
import { httpAdapterPhase, type HttpAdapterResult } from './http-adapter';
import { ingestPhase, type IngestResult } from './ingest';
import { noisyNeighbourPhase, type NoisyNeighbourResult } from './noisy-neighbour';
import { orderedKeysPhase, type OrderedKeysResult } from './ordered-keys';
import { outboxPhase, type OutboxResult } from './outbox';
import { withPhaseService } from './phase-service';
import {
  createTenants,
  e2eRun,
  latencyRun,
  log,
  warmUp,
  watchedServices,
  watchServices,
  type Tenant,
} from './phases';
import type { Receiver } from './receiver';
import type { Service } from './service';
import { round } from './stats';

/** Runs `work` with the CPU meter on, recording it under `phase`. */
export type Measured = <T>(phase: string, work: () => Promise<T>) => Promise<T>;

/** The bench's service and what its phases share. */
export interface BenchRunContext {
  namespace: string;
  databaseUrl: string;
  service: Service;
  admin: Api;
  producer: Producer;
  inputTopic: string;
  tenants: Tenant[];
  receiver: Receiver;
  measured: Measured;
}

/** Runs a phase; when it fails, its message goes into `errors` under `key` and it yields null. */
export async function attempt<T>(
  errors: Record<string, string>,
  key: string,
  run: () => Promise<T>,
  label = key,
): Promise<T | null> {
  try {
    return await run();
  } catch (error) {
    errors[key] = (error as Error).message;
    log(`${label} FAILED: ${(error as Error).message}`);
    return null;
  }
}

/**
 * HTTP ingest on its own api-only service (issue 21), with `workers` processes of which
 * `httpWorkers` serve HTTP.
 */
export async function runIngest(
  measured: Measured,
  phase: string,
  workers: string,
  httpWorkers = 'auto',
): Promise<IngestResult> {
  const result = await measured(phase, () => ingestPhase({ workers, httpWorkers }));
  for (const mode of result.results) {
    log(
      `${phase} ${mode.mode}: ${mode.eventsPerSec} events/s, p50 ${mode.p50Ms} ms, p99 ${mode.p99Ms} ms, ${mode.serviceCpuMsPerEvent} ms CPU/event`,
    );
  }
  return result;
}

/**
 * The HTTP adapter alone (issue 21 item 1): a minimal Nest app on Express and on Fastify with the
 * service's pipes and DTO, in child processes of its own.
 */
export async function runHttpAdapter(measured: Measured): Promise<HttpAdapterResult> {
  const httpAdapter = await measured('httpAdapter', () => httpAdapterPhase());
  for (const variant of httpAdapter.variants) {
    log(
      `httpAdapter ${variant.name}: ${variant.median.requestsPerSec} requests/s, p50 ${variant.median.p50Ms} ms, p99 ${variant.median.p99Ms} ms, ${variant.median.cpuUsPerRequest} µs CPU/request`,
    );
  }
  return httpAdapter;
}

/** The e2e phase on a one-process service (HOOKSTREAM_WORKERS=1). */
export async function runE2eOneWorker(): Promise<Awaited<ReturnType<typeof oneWorkerE2e>>> {
  const e2eOneWorker = await oneWorkerE2e();
  log(`e2e fan-out 1, one worker: ${e2eOneWorker.deliveriesPerSec} deliveries/s`);
  return e2eOneWorker;
}

/** The e2e throughput run at fan-out 1 or 5 (CPU phase `e2eFanout1` / `e2eFanout5`); deliveries/s. */
export async function runE2e(ctx: BenchRunContext, fanout: 1 | 5): Promise<number> {
  const events = fanout === 1 ? CONFIG.e2eEvents : CONFIG.e2eFanout5Events;
  const perSec = await ctx.measured(`e2eFanout${fanout}`, () =>
    e2eRun(ctx.producer, ctx.inputTopic, ctx.tenants, ctx.receiver, `f${fanout}`, events),
  );
  log(`e2e fan-out ${fanout}: ${round(perSec, 0)} deliveries/s`);
  return perSec;
}

/** The latency runs, one per rate of CONFIG.latencyRates. */
export async function runLatency(
  ctx: BenchRunContext,
): Promise<Array<Awaited<ReturnType<typeof latencyRun>>>> {
  const latency: Array<Awaited<ReturnType<typeof latencyRun>>> = [];
  for (const rate of CONFIG.latencyRates) {
    const result = await ctx.measured(`latency${rate}`, () =>
      latencyRun(
        ctx.producer,
        ctx.inputTopic,
        ctx.tenants,
        ctx.receiver,
        rate,
        `${ctx.namespace}.deliveries`,
      ),
    );
    latency.push(result);
    log(
      `latency at ${rate}/s: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms (${result.delivered} delivered)`,
    );
  }
  return latency;
}

export async function runCatalogue(ctx: BenchRunContext): Promise<CatalogueResult> {
  const catalogue = await ctx.measured('catalogue', () =>
    cataloguePhase({
      admin: ctx.admin,
      serviceUrl: ctx.service.url,
      producer: ctx.producer,
      topic: ctx.inputTopic,
      tenants: ctx.tenants,
      receiver: ctx.receiver,
    }),
  );
  log(
    `catalogue: fan-out ${catalogue.fanoutDeliveriesPerSec.reject} / ${catalogue.fanoutDeliveriesPerSec.off} per s validating / not (ratio ${catalogue.fanoutRatio}); POST p99 ${catalogue.ingest.p99Ms.reject} / ${catalogue.ingest.p99Ms.off} ms`,
  );
  return catalogue;
}

export async function runOrderedKeys(ctx: BenchRunContext): Promise<OrderedKeysResult> {
  const orderedKeys = await ctx.measured('orderedKeys', () =>
    orderedKeysPhase({
      admin: ctx.admin,
      producer: ctx.producer,
      topic: ctx.inputTopic,
      receiver: ctx.receiver,
    }),
  );
  log(
    `ordered keys: ${orderedKeys.keyedDeliveriesPerSec}/s over ${orderedKeys.keys} keys vs ${orderedKeys.serialDeliveriesPerSec}/s one at a time (ratio ${orderedKeys.ratio}), order violations ${orderedKeys.orderViolations}`,
  );
  return orderedKeys;
}

export async function runNoisyNeighbour(ctx: BenchRunContext): Promise<NoisyNeighbourResult> {
  const noisyNeighbour = await noisyNeighbourPhase({
    admin: ctx.admin,
    serviceUrl: ctx.service.url,
    producer: ctx.producer,
    topic: ctx.inputTopic,
    receiver: ctx.receiver,
    measured: ctx.measured,
  });
  log(
    `noisy neighbour: quiet ${noisyNeighbour.quietWithNoisePerSec} / ${noisyNeighbour.quietAlonePerSec} per s (ratio ${noisyNeighbour.throughputRatio}), p99 ${noisyNeighbour.quietAloneP99Ms} / ${noisyNeighbour.quietWithNoiseP99Ms} ms (ratio ${noisyNeighbour.p99Ratio})`,
  );
  return noisyNeighbour;
}

/** The outbox phase, into a sink topic of its own. */
export async function runOutbox(ctx: BenchRunContext): Promise<OutboxResult> {
  const sinkTopic = `${ctx.namespace}.outbox-sink`;
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  await kafkaAdmin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: sinkTopic, numPartitions: 3 }],
  });
  await kafkaAdmin.disconnect();
  const outbox = await ctx.measured('outbox', () =>
    outboxPhase({
      admin: ctx.admin,
      databaseUrl: ctx.databaseUrl,
      inputTopic: ctx.inputTopic,
      sinkTopic,
      receiver: ctx.receiver,
    }),
  );
  log(
    `outbox: relay ${outbox.relayRowsPerSec} rows/s; commit -> delivery p50/p99 ${outbox.latency[0].p50Ms}/${outbox.latency[0].p99Ms} ms (direct ${outbox.latency[1].p50Ms}/${outbox.latency[1].p99Ms} ms)`,
  );
  return outbox;
}

/** The backfill phase on the bench's service, its drain timeout from BENCH_BACKFILL_TIMEOUT_S. */
export async function runBackfill(ctx: BenchRunContext): Promise<BackfillResult> {
  const backfill = await ctx.measured('backfill', () =>
    backfillPhase({
      admin: ctx.admin,
      servicePid: ctx.service.pid,
      producer: ctx.producer,
      topic: ctx.inputTopic,
      receiver: ctx.receiver,
      drainTimeoutMs: num('BENCH_BACKFILL_TIMEOUT_S', 3_600, 120) * 1000,
    }),
  );
  log(
    `backfill: ${backfill.events} events, job ${backfill.jobSeconds} s (${backfill.jobEventsPerSec}/s), all delivered after ${backfill.allDeliveredSeconds} s, peak RSS ${backfill.peakRssMb} MB`,
  );
  return backfill;
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
