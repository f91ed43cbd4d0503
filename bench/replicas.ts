/**
 * `npm run bench:replicas`: the bench's throughput phases with one and with two delivery replicas
 * on this machine (issue 16): deliveries/s, p50/p99 and CPU by process for each phase.
 *
 * Topology, per layout, each on a fresh database and topic namespace:
 *   single       one process with every role (what `npm run bench` measures), the reference
 *   delivery-1   one `api,fanout` process + one `delivery` process
 *   delivery-2   one `api,fanout` process + two `delivery` processes
 * The fan-out stays one process in both split layouts so the only thing that changes between them
 * is the number of delivery replicas, which is what the issue asks about and what the recommended
 * production topology scales (README Section A). With 4 input and 12 delivery partitions each
 * delivery replica owns 6; measuring starts once GET /v1/ops/cluster shows every delivery replica
 * owning partitions and all 12 owned.
 *
 * Phases (the same code as bench.ts): e2e fan-out 1 (BENCH_E2E_EVENTS), e2e fan-out 5
 * (BENCH_FANOUT5_EVENTS), latency at a fixed 1,000 events/s (BENCH_LATENCY_SECONDS). The ceilings
 * do not depend on the replicas and are not run here.
 *
 * BENCH_REPLICA_LAYOUTS picks layouts (default single,delivery-1,delivery-2). BENCH_QUICK=1
 * (`npm run bench:replicas:smoke`) runs delivery-2 alone with tiny counts and writes
 * bench/results/replicas-smoke.json instead of replicas-latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { Api } from './lib/api';
import { CONFIG, kafka, num, QUICK } from './lib/config';
import { CpuMeter, type CpuShares } from './lib/cpu';
import { createDatabase, type BenchDatabase } from './lib/db';
import { connectedProducer, deleteNamespaceTopics, uniqueNamespace } from './lib/kafka';
import {
  createTenants,
  e2eRun,
  killWatchedServices,
  latencyRun,
  log,
  warmUp,
  watchServices,
} from './lib/phases';
import { Receiver } from './lib/receiver';
import { ensureServiceBuilt, ROOT, sleep, startService, type Service } from './lib/service';
import { machineInfo, round } from './lib/stats';

const LAYOUTS = {
  single: { front: 'api,fanout,delivery', deliveryReplicas: 0 },
  'delivery-1': { front: 'api,fanout', deliveryReplicas: 1 },
  'delivery-2': { front: 'api,fanout', deliveryReplicas: 2 },
} as const;
type LayoutName = keyof typeof LAYOUTS;

const LATENCY_RATE = QUICK ? 200 : 1000;
/** How long the delivery group may take to give every replica its partitions. */
const SETTLE_TIMEOUT_MS = 90_000;

interface PhaseResult {
  deliveriesPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** % of one core by process (byService: each service process by its name), kafka, postgres, bench. */
  cpu: CpuShares | null;
}

interface LayoutResult {
  layout: LayoutName;
  processes: Array<{ name: string; roles: string }>;
  settledInMs: number;
  partitionsByReplica: Record<string, number[]>;
  phases: Record<string, PhaseResult>;
  peakRssMb: Record<string, number>;
  error?: string;
}

async function main(): Promise<void> {
  const started = Date.now();
  const watchdog = setTimeout(
    () => {
      console.error('[bench] over the time limit; giving up');
      killWatchedServices();
      process.exit(2);
    },
    num('BENCH_TIME_LIMIT_S', 900, 150) * 1000,
  );
  watchdog.unref();
  const layouts = (
    process.env.BENCH_REPLICA_LAYOUTS ?? (QUICK ? 'delivery-2' : Object.keys(LAYOUTS).join(','))
  )
    .split(',')
    .map((name) => name.trim()) as LayoutName[];
  for (const name of layouts) if (!(name in LAYOUTS)) throw new Error(`unknown layout ${name}`);

  await ensureServiceBuilt();
  const receiver = await new Receiver().start();
  const results: LayoutResult[] = [];
  try {
    for (const layout of layouts) {
      log(`layout ${layout}`);
      results.push(await runLayout(layout, receiver));
    }
  } finally {
    await receiver.stop();
  }

  const output = {
    layouts: results,
    setup: {
      quick: QUICK,
      topology:
        'single: one process with every role; delivery-N: one api,fanout process and N delivery processes; fresh database and topics per layout',
      inputPartitions: CONFIG.tenants,
      deliveryPartitions: CONFIG.deliveryPartitions,
      endpoints:
        'as npm run bench: 20 fan-out 1 endpoints, 20 fan-out 5 endpoints over 4 tenants, maxConcurrency 1',
      e2eEvents: CONFIG.e2eEvents,
      e2eFanout5Events: CONFIG.e2eFanout5Events,
      latencyRatePerSec: LATENCY_RATE,
      latencySeconds: CONFIG.latencySeconds,
      cpu: '% of one core over each phase; the machine has cpus x 100; kafka counts every broker process on the host',
    },
    machine: machineInfo(ROOT),
    durationS: round((Date.now() - started) / 1000, 0),
  };
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const name = QUICK ? 'replicas-smoke' : 'replicas-latest';
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(output, null, 2)}\n`);
  printSummary(results);
  log(`wrote bench/results/${name}.json`);
  if (results.some((r) => r.error)) process.exitCode = 1;
}

async function runLayout(layout: LayoutName, receiver: Receiver): Promise<LayoutResult> {
  const { front: frontRoles, deliveryReplicas } = LAYOUTS[layout];
  const namespace = uniqueNamespace(QUICK ? 'rsmoke' : `r${deliveryReplicas}`);
  const inputTopic = `${namespace}.input`;
  const services: Array<{ name: string; roles: string; service: Service }> = [];
  let database: BenchDatabase | undefined;
  let producer: Producer | undefined;
  const result: LayoutResult = {
    layout,
    processes: [],
    settledInMs: 0,
    partitionsByReplica: {},
    phases: {},
    peakRssMb: {},
  };
  try {
    database = await createDatabase('hs_bench_rep');
    const env = {
      DATABASE_URL: database.url,
      HOOKSTREAM_TOPIC_NAMESPACE: namespace,
      HOOKSTREAM_INPUT_TOPICS: inputTopic,
      HOOKSTREAM_INPUT_PARTITIONS: String(CONFIG.tenants),
      HOOKSTREAM_DELIVERY_PARTITIONS: String(CONFIG.deliveryPartitions),
      HOOKSTREAM_RETRY_DELAYS: '1s,2s,5s',
      HOOKSTREAM_DELIVERY_TIMEOUT: '5s',
    };
    // The front process applies the migrations and creates the topics before any delivery replica starts.
    const front = await startService(
      { ...env, HOOKSTREAM_ROLES: frontRoles, HOOKSTREAM_REPLICA_NAME: 'front' },
      { label: `bench-${layout}-front` },
    );
    services.push({ name: 'front', roles: frontRoles, service: front });
    const workers = await Promise.all(
      Array.from({ length: deliveryReplicas }, (_, i) =>
        startService(
          {
            ...env,
            HOOKSTREAM_ROLES: 'delivery',
            HOOKSTREAM_REPLICA_NAME: `delivery-${i + 1}`,
            HOOKSTREAM_RUN_MIGRATIONS: 'false',
          },
          { label: `bench-${layout}-delivery-${i + 1}` },
        ),
      ),
    );
    workers.forEach((service, i) => services.push({ name: `delivery-${i + 1}`, roles: 'delivery', service }));
    watchServices(services.map((s) => s.service));
    result.processes = services.map(({ name, roles }) => ({ name, roles }));

    const admin = new Api(front.url);
    const tenants = await createTenants(admin, receiver);
    const settleStart = Date.now();
    result.partitionsByReplica = await settled(admin, Math.max(1, deliveryReplicas));
    result.settledInMs = Date.now() - settleStart;
    log(`${layout}: partitions ${JSON.stringify(result.partitionsByReplica)} after ${result.settledInMs} ms`);
    producer = await connectedProducer(kafka);
    await warmUp(producer, inputTopic, tenants, receiver);

    const nameOf = new Map(services.map(({ name, service }) => [service.pid, name]));
    const measured = async (phase: string, work: () => Promise<Omit<PhaseResult, 'cpu'>>): Promise<void> => {
      const meter = CpuMeter.start(
        () => [...nameOf.keys()],
        (pid) => nameOf.get(pid),
      );
      let outcome: Omit<PhaseResult, 'cpu'> = {};
      try {
        outcome = await work();
      } finally {
        result.phases[phase] = { ...outcome, cpu: meter?.stop() ?? null };
      }
    };
    const p = producer;
    await measured('e2eFanout1', async () => ({
      deliveriesPerSec: round(await e2eRun(p, inputTopic, tenants, receiver, 'f1', CONFIG.e2eEvents), 0),
    }));
    log(`${layout} e2e fan-out 1: ${result.phases.e2eFanout1.deliveriesPerSec}/s`);
    await measured('e2eFanout5', async () => ({
      deliveriesPerSec: round(
        await e2eRun(p, inputTopic, tenants, receiver, 'f5', CONFIG.e2eFanout5Events),
        0,
      ),
    }));
    log(`${layout} e2e fan-out 5: ${result.phases.e2eFanout5.deliveriesPerSec}/s`);
    await measured(`latency${LATENCY_RATE}`, async () => {
      const { p50Ms, p99Ms, delivered } = await latencyRun(
        p,
        inputTopic,
        tenants,
        receiver,
        LATENCY_RATE,
        `${namespace}.deliveries`,
      );
      return { deliveriesPerSec: round(delivered / CONFIG.latencySeconds, 0), p50Ms, p99Ms };
    });
    const latency = result.phases[`latency${LATENCY_RATE}`];
    log(`${layout} latency at ${LATENCY_RATE}/s: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`);
  } catch (error) {
    result.error = (error as Error).message;
    log(`${layout} FAILED: ${result.error}`);
  } finally {
    for (const { name, service } of services) result.peakRssMb[name] = round(service.peakRssMb(), 1);
    await producer?.disconnect().catch(() => undefined);
    await Promise.all(services.map(({ service }) => service.stop()));
    await deleteNamespaceTopics(kafka, namespace, [inputTopic]);
    await database?.drop().catch(() => undefined);
  }
  return result;
}

/**
 * Waits until `replicas` live delivery replicas each own partitions and together all of them, as
 * GET /v1/ops/cluster reports (heartbeats every 2 s); returns who owns what.
 */
async function settled(admin: Api, replicas: number): Promise<Record<string, number[]>> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let owners: Record<string, number[]> = {};
  while (Date.now() < deadline) {
    const view = await admin.ok<{
      replicas: Array<{ id: string; roles: string[]; live: boolean; partitions: number[] }>;
    }>('GET', '/v1/ops/cluster');
    const delivery = view.replicas.filter((r) => r.live && r.roles.includes('delivery'));
    owners = Object.fromEntries(delivery.map((r) => [r.id, [...r.partitions].sort((a, b) => a - b)]));
    const owned = new Set(delivery.flatMap((r) => r.partitions));
    if (
      delivery.length === replicas &&
      delivery.every((r) => r.partitions.length > 0) &&
      owned.size === CONFIG.deliveryPartitions
    ) {
      return owners;
    }
    await sleep(500);
  }
  throw new Error(`delivery group not settled within ${SETTLE_TIMEOUT_MS} ms: ${JSON.stringify(owners)}`);
}

function printSummary(results: LayoutResult[]): void {
  console.log('');
  console.log('layout       phase          deliveries/s  p50/p99 ms   CPU % of one core (idle)');
  for (const r of results) {
    if (r.error) console.log(`${r.layout.padEnd(12)} FAILED: ${r.error}`);
    for (const [phase, p] of Object.entries(r.phases)) {
      const latency = p.p99Ms === undefined ? '' : `${p.p50Ms} / ${p.p99Ms}`;
      const cpu = p.cpu
        ? `${Object.entries(p.cpu.byService ?? {})
            .map(([name, pct]) => `${name} ${pct}`)
            .join(
              ', ',
            )}, kafka ${p.cpu.kafka}, postgres ${p.cpu.postgres}, bench ${p.cpu.bench} (idle ${p.cpu.idle})`
        : 'n/a';
      console.log(
        `${r.layout.padEnd(12)} ${phase.padEnd(14)} ${String(p.deliveriesPerSec ?? '').padStart(12)}  ${latency.padEnd(11)}  ${cpu}`,
      );
    }
  }
  console.log('');
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error('[bench] failed:', error);
    process.exit(1);
  },
);
