/**
 * `npm run chaos:cluster`: the chaos run of issue 16, with three replicas of one Hookstream.
 *
 * Three replicas, every role each (api, fanout, delivery), distinct HOOKSTREAM_REPLICA_NAME, one
 * namespace and one fresh database. Publishes CHAOS_CLUSTER_EVENTS events (default 50,000) at
 * CHAOS_CLUSTER_RATE per second (default 100) to seven endpoints of two tenants: two steady
 * (maxConcurrency 4), two flaky (~30 % of first attempts fail), one `ordering: strict` (10 % of first
 * attempts fail), one maxConcurrency 1 (20 % fail) and one dead (always 500). The strict and
 * maxConcurrency-1 endpoints answer after 5 ms, so two requests sent at once overlap at the
 * receiver, which counts the requests open per endpoint at every arrival.
 *
 * Faults, in order, each waiting for the delivery group to settle (the live replicas own every
 * delivery partition, each some, by their hookstream_delivery_partitions_owned): a rolling
 * restart of all three (SIGTERM one, settle, start it, settle, next), a SIGKILL and restart, scale
 * 3 -> 1 -> 3, and a Kafka broker restart (only against a broker of one's own: see
 * CHAOS_CLUSTER_BROKER_RESTART below).
 *
 * The dead endpoint's expected outcome: every one of its deliveries dead-lettered. Its circuit
 * opens after 10 failures, its deliveries are then held in PostgreSQL and probed one at a time, and
 * HOOKSTREAM_MAX_ATTEMPT_AGE (90 s here, 30 s in the smoke) sends each back to be dead-lettered
 * for its age; the ledger counts its dead-letter rows, not deliveries.
 *
 * Ledger (bench/results/chaos-cluster-latest.json): published, expected and delivered (unique) per
 * endpoint, lost, duplicates per endpoint and by the fault before them, strict order violations,
 * the highest concurrency seen per endpoint and every request over its maxConcurrency, held
 * deliveries cycled (hookstream_held_turned_away_total{release="batch"}: released in a batch and
 * turned away again while the endpoint was down), forced handovers, dead letters, faults with
 * timestamps, unplanned exits, drain seconds. Exits 1 on any loss, order or concurrency violation,
 * or cycled batch.
 *
 * CHAOS_CLUSTER_SMOKE=1 (`npm run chaos:cluster:smoke`, in scripts/test.sh): 600 events, one step
 * of the rolling restart and one SIGKILL, no scaling, no broker restart; runs on the shared broker,
 * about 2 minutes; writes bench/results/chaos-cluster-smoke.json.
 *
 * The broker restart runs scripts/infra.sh kafka-restart, which restarts the broker of
 * HOOKSTREAM_INFRA_DIR on HOOKSTREAM_KAFKA_PORT: the full run refuses to start unless both are its
 * own and KAFKA_BROKERS names it, so a shared broker is never restarted
 * (CHAOS_CLUSTER_BROKER_RESTART=0 leaves that fault out).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Producer } from 'kafkajs';
import { Client } from 'pg';
import { createDatabase, type BenchDatabase } from './lib/db';
import { publishPaced } from './lib/chaos-publisher';
import { countTopic, failsFirstAttempt, infra, secondsSince } from './lib/faults';
import {
  benchKafka,
  BROKERS,
  cloudEvent,
  connectedProducer,
  deleteNamespaceTopics,
  uniqueNamespace,
} from './lib/kafka';
import { Receiver, type Answer, type Delivery } from './lib/receiver';
import { ReplicaSet } from './lib/replicas';
import { ensureServiceBuilt, ROOT, sleep, until } from './lib/service';
import { machineInfo, round } from './lib/stats';
import {
  buildLedger,
  printLedger,
  type EndpointSpec,
  type FaultRecord,
  type PathLedger,
  type Published,
} from './lib/cluster-ledger';

const SMOKE = process.env.CHAOS_CLUSTER_SMOKE === '1';
const num = (name: string, full: number, smoke: number): number =>
  process.env[name] ? Number(process.env[name]) : SMOKE ? smoke : full;

const CONFIG = {
  events: num('CHAOS_CLUSTER_EVENTS', 50_000, 600),
  rate: num('CHAOS_CLUSTER_RATE', 100, 15),
  rollingRestartSteps: num('CHAOS_CLUSTER_ROLLING_STEPS', 3, 1),
  kill: num('CHAOS_CLUSTER_KILL', 1, 1) > 0,
  scale: num('CHAOS_CLUSTER_SCALE', 1, 0) > 0,
  brokerRestart: num('CHAOS_CLUSTER_BROKER_RESTART', 1, 0) > 0,
  /** How long the one replica left by the scale-down carries everything before the others return. */
  scaledDownForS: num('CHAOS_CLUSTER_SCALED_DOWN_S', 20, 10),
  deliveryPartitions: 6,
  flakyFailRate: 0.3,
  strictFailRate: 0.1,
  maxConcurrencyOneFailRate: 0.2,
  /** Every strictEvery-th event of tenant A goes to the strict endpoint; deadEvery-th of B to the dead one. */
  strictEvery: num('CHAOS_CLUSTER_STRICT_EVERY', 10, 5),
  deadEvery: num('CHAOS_CLUSTER_DEAD_EVERY', 20, 10),
  /** The pause before the strict and maxConcurrency-1 endpoints answer, so overlapping requests show. */
  slowAnswerMs: 5,
  maxAttemptAgeS: num('CHAOS_CLUSTER_MAX_ATTEMPT_AGE_S', 90, 30),
  settleTimeoutS: num('CHAOS_CLUSTER_SETTLE_TIMEOUT_S', 120, 60),
  drainTimeoutS: num('CHAOS_CLUSTER_DRAIN_TIMEOUT_S', 600, 120),
  stallS: num('CHAOS_CLUSTER_STALL_S', 180, 60),
  timeLimitS: num('CHAOS_CLUSTER_TIME_LIMIT_S', 1800, 300),
};

const REPLICAS = ['replica-1', 'replica-2', 'replica-3'];
/** How long /v1/ops/cluster (heartbeats every 2 s) may lag the settled group before it is recorded anyway. */
const VIEW_AGREES_WITHIN_MS = 10_000;

/** The counters the ledger sums over every replica process of the run. */
const COUNTERS = [
  'hookstream_held_turned_away_total{release="batch"}',
  'hookstream_held_turned_away_total{release="probe"}',
  'hookstream_held_released_total',
  'hookstream_partition_handovers_forced_total{reason="not_released"}',
  'hookstream_partition_handovers_forced_total{reason="database_unavailable"}',
];

const ENDPOINTS: EndpointSpec[] = [
  { path: '/a/steady', tenant: 'a', eventTypes: ['*'], failRate: 0, maxConcurrency: 4 },
  { path: '/a/flaky', tenant: 'a', eventTypes: ['*'], failRate: CONFIG.flakyFailRate, maxConcurrency: 1 },
  {
    path: '/a/strict',
    tenant: 'a',
    eventTypes: ['chaos.strict'],
    failRate: CONFIG.strictFailRate,
    maxConcurrency: 1,
    ordering: 'strict',
    answerAfterMs: CONFIG.slowAnswerMs,
  },
  {
    path: '/a/max1',
    tenant: 'a',
    eventTypes: ['chaos.x'],
    failRate: CONFIG.maxConcurrencyOneFailRate,
    maxConcurrency: 1,
    answerAfterMs: CONFIG.slowAnswerMs,
  },
  { path: '/b/steady', tenant: 'b', eventTypes: ['*'], failRate: 0, maxConcurrency: 4 },
  { path: '/b/flaky', tenant: 'b', eventTypes: ['*'], failRate: CONFIG.flakyFailRate, maxConcurrency: 1 },
  { path: '/b/dead', tenant: 'b', eventTypes: ['chaos.dead'], failRate: 1, maxConcurrency: 1, dead: true },
];

const kafka = benchKafka('hookstream-chaos-cluster');

/** The event type of the seq-th event (events alternate tenants a and b, in publish order). */
function eventTypeOf(seq: number): { tenant: 'a' | 'b'; type: string } {
  const tenant = seq % 2 === 0 ? 'a' : 'b';
  const perTenant = Math.floor(seq / 2);
  if (tenant === 'a' && perTenant % CONFIG.strictEvery === 0) return { tenant, type: 'chaos.strict' };
  if (tenant === 'b' && perTenant % CONFIG.deadEvery === 0) return { tenant, type: 'chaos.dead' };
  return { tenant, type: perTenant % 2 === 0 ? 'chaos.x' : 'chaos.y' };
}

/**
 * scripts/infra.sh keeps a broker's pid file, configuration and data in HOOKSTREAM_INFRA_DIR: a
 * second broker started in the default directory finds the shared broker's data locked and fails,
 * leaving its own pid in the shared broker's pid file. So the restart needs a port and a directory
 * of its own.
 */
function refuseSharedBrokerRestart(): void {
  if (!CONFIG.brokerRestart) return;
  const port = process.env.HOOKSTREAM_KAFKA_PORT;
  const infraDir = process.env.HOOKSTREAM_INFRA_DIR;
  const ownPort = port !== undefined && port !== '9092' && BROKERS.includes(`127.0.0.1:${port}`);
  const ownDir = infraDir !== undefined && resolve(infraDir) !== resolve(ROOT, '.infra');
  if (!ownPort || !ownDir) {
    throw new Error(
      'the broker restart needs a broker of its own: start one with HOOKSTREAM_INFRA_DIR=<dir> ' +
        'HOOKSTREAM_KAFKA_PORT=<port> HOOKSTREAM_KAFKA_CONTROLLER_PORT=<port+1> bash scripts/infra.sh up, ' +
        'then export those three and KAFKA_BROKERS=127.0.0.1:<port> (or CHAOS_CLUSTER_BROKER_RESTART=0)',
    );
  }
}

async function main(): Promise<void> {
  refuseSharedBrokerRestart();
  const started = Date.now();
  const elapsedS = (): number => round((Date.now() - started) / 1000, 1);
  const log = (message: string): void => console.log(`[chaos-cluster ${elapsedS().toFixed(1)}s] ${message}`);
  const watchdog = setTimeout(() => {
    console.error(`[chaos-cluster] over the time limit of ${CONFIG.timeLimitS} s; giving up`);
    process.exit(2);
  }, CONFIG.timeLimitS * 1000);
  watchdog.unref();

  await ensureServiceBuilt();
  const ledger = new Map<string, PathLedger>(
    ENDPOINTS.map((e) => [
      e.path,
      {
        requests: new Map(),
        successes: new Map(),
        firstSuccessSeqs: [],
        duplicateAtMs: [],
        injectedFailures: 0,
        maxConcurrent: 0,
        concurrencyViolations: [],
      },
    ]),
  );
  const specOf = new Map(ENDPOINTS.map((e) => [e.path, e]));
  const receiver = await new Receiver((d: Delivery): Answer => {
    const spec = specOf.get(d.path);
    if (!spec) return 404;
    const entry = ledger.get(d.path)!;
    const answer = (status: number): Answer =>
      spec.answerAfterMs ? { status, delayMs: spec.answerAfterMs } : status;
    entry.maxConcurrent = Math.max(entry.maxConcurrent, d.concurrent);
    if (d.concurrent > spec.maxConcurrency) {
      entry.concurrencyViolations.push({ atS: elapsedS(), concurrent: d.concurrent, webhookId: d.webhookId });
    }
    const seen = entry.requests.get(d.webhookId) ?? 0;
    entry.requests.set(d.webhookId, seen + 1);
    if (spec.dead || (seen === 0 && failsFirstAttempt(d.path, d.webhookId, spec.failRate))) {
      entry.injectedFailures++;
      return answer(500);
    }
    const successes = entry.successes.get(d.webhookId) ?? 0;
    entry.successes.set(d.webhookId, successes + 1);
    if (successes === 0) {
      entry.firstSuccessSeqs.push((JSON.parse(d.body) as { data: { seq: number } }).data.seq);
    } else {
      entry.duplicateAtMs.push(d.receivedAtMs);
    }
    return answer(204);
  }).start();

  const namespace = uniqueNamespace(SMOKE ? 'ccluster-smoke' : 'ccluster');
  const inputTopic = `${namespace}.input`;
  let database: BenchDatabase | undefined;
  let db: Client | undefined;
  let replicas: ReplicaSet | undefined;
  let producer: Producer | undefined;
  const faults: FaultRecord[] = [];

  try {
    database = await createDatabase('hs_ccluster');
    const env = {
      DATABASE_URL: database.url,
      HOOKSTREAM_TOPIC_NAMESPACE: namespace,
      HOOKSTREAM_INPUT_TOPICS: inputTopic,
      HOOKSTREAM_INPUT_PARTITIONS: '3',
      HOOKSTREAM_DELIVERY_PARTITIONS: String(CONFIG.deliveryPartitions),
      // Only first attempts fail (the dead endpoint aside): a second attempt always succeeds, so six
      // tiers are plenty, and fewer tier topics spare the broker on this 2-core machine.
      HOOKSTREAM_RETRY_DELAYS: '1s,2s,4s,8s,15s,30s',
      HOOKSTREAM_MAX_ATTEMPT_AGE: `${CONFIG.maxAttemptAgeS}s`,
      HOOKSTREAM_CIRCUIT_OPEN_FOR: '5s',
      HOOKSTREAM_SHUTDOWN_TIMEOUT: '5s',
    };
    replicas = new ReplicaSet(env, {
      label: SMOKE ? 'ccluster-smoke' : 'ccluster',
      deliveryPartitions: CONFIG.deliveryPartitions,
      counters: COUNTERS,
      log,
    });
    const cluster = replicas;
    // The first boot applies the migrations; the other two then boot together.
    await cluster.start(REPLICAS[0]);
    await Promise.all(REPLICAS.slice(1).map((name) => cluster.start(name)));
    const settledMs = await cluster.settle(CONFIG.settleTimeoutS * 1000);
    log(`3 replicas up, the delivery group settled in ${round(settledMs / 1000, 1)} s`);
    cluster.startScraping();

    const admin = cluster.admin();
    const tenants = { a: await admin.createTenant('ccluster-a'), b: await admin.createTenant('ccluster-b') };
    const endpointIds = new Map<string, string>();
    for (const spec of ENDPOINTS) {
      const { id } = await tenants[spec.tenant].api.createEndpoint({
        url: receiver.url(spec.path),
        eventTypes: spec.eventTypes,
        ordering: spec.ordering ?? 'none',
        maxConcurrency: spec.maxConcurrency,
      });
      endpointIds.set(id, spec.path);
    }
    db = new Client({ connectionString: database.url });
    await db.connect();

    // --- publisher: acks=all, one send at a time (order per tenant), retried until acknowledged ---
    producer = await connectedProducer(kafka);
    const published: Published[] = [];
    const publishing = publishPaced({
      producer,
      topic: inputTopic,
      events: CONFIG.events,
      ratePerSec: CONFIG.rate,
      published,
      log,
      eventOf: (seq) => {
        const { tenant, type } = eventTypeOf(seq);
        const message = cloudEvent({ tenantId: tenants[tenant].id, type, seq });
        const id = (JSON.parse(String(message.value)) as { id: string }).id;
        return { message, entry: { id, tenant, type, seq } };
      },
    });

    // --- faults, one after another while the events flow, each until the group has settled ---
    const fault = async (name: string, work: () => Promise<string | undefined>): Promise<void> => {
      const t0 = Date.now();
      log(`fault: ${name}`);
      const note = await work();
      const settleMs = await cluster.settle(CONFIG.settleTimeoutS * 1000);
      const view = await cluster.settledView(VIEW_AGREES_WITHIN_MS);
      faults.push({
        atS: round((t0 - started) / 1000, 1),
        fault: name,
        tookS: secondsSince(t0),
        settledAfterS: round(settleMs / 1000, 1),
        partitionsByReplica: Object.fromEntries(
          view.filter((r) => r.live && r.partitions.length > 0).map((r) => [r.id, r.partitions]),
        ),
        note,
      });
      log(`${name}: done in ${secondsSince(t0)} s`);
    };
    const at = async (fraction: number): Promise<void> => {
      // waits until `fraction` of the events are published (or publishing is over)
      const publishMs = (CONFIG.events / CONFIG.rate) * 1000;
      await until(() => published.length >= CONFIG.events * fraction, publishMs + 600_000, 100);
    };
    const faulting = (async () => {
      await at(SMOKE ? 0.15 : 0.08);
      for (const name of REPLICAS.slice(0, CONFIG.rollingRestartSteps)) {
        await fault(`rolling restart: SIGTERM ${name}`, () => cluster.stop(name).then(() => undefined));
        await fault(`rolling restart: start ${name}`, () => cluster.start(name).then(() => undefined));
      }
      if (CONFIG.kill) {
        await at(SMOKE ? 0.5 : 0.35);
        await fault(`SIGKILL ${REPLICAS[1]} and start it again`, async () => {
          const pid = await cluster.kill(REPLICAS[1]);
          await cluster.start(REPLICAS[1]);
          return `killed pid ${pid}`;
        });
      }
      if (CONFIG.scale) {
        await at(0.5);
        const others = REPLICAS.slice(1);
        await fault('scale 3 -> 1 (SIGTERM replica-2 and replica-3)', async () => {
          await Promise.all(others.map((name) => cluster.stop(name)));
          return undefined;
        });
        await sleep(CONFIG.scaledDownForS * 1000);
        await fault('scale 1 -> 3 (start replica-2 and replica-3)', async () => {
          await Promise.all(others.map((name) => cluster.start(name)));
          return undefined;
        });
      }
      if (CONFIG.brokerRestart) {
        await at(0.75);
        await fault(`Kafka broker restart (127.0.0.1:${process.env.HOOKSTREAM_KAFKA_PORT})`, async () => {
          const code = await infra('kafka-restart');
          if (code !== 0) throw new Error(`scripts/infra.sh kafka-restart exited ${code}`);
          return `exit ${code}`;
        });
      }
    })();
    const [sendRetries] = await Promise.all([publishing, faulting]);

    // --- drain: every delivery of the live endpoints, every dead-letter row of the dead one ---
    const expected = new Map<string, Published[]>(
      ENDPOINTS.map((spec) => [
        spec.path,
        published.filter(
          (e) => e.tenant === spec.tenant && spec.eventTypes.some((t) => t === '*' || t === e.type),
        ),
      ]),
    );
    const deadLetters = new Map<string, Map<string, string>>(); // path -> event id -> reason
    const readDeadLetters = async (): Promise<void> => {
      const rows = await db!.query<{ endpoint_id: string; event_id: string; reason: string }>(
        'SELECT endpoint_id, event_id, reason FROM dead_letters',
      );
      deadLetters.clear();
      for (const row of rows.rows) {
        const path = endpointIds.get(row.endpoint_id) ?? `(endpoint ${row.endpoint_id})`;
        if (!deadLetters.has(path)) deadLetters.set(path, new Map());
        deadLetters.get(path)!.set(row.event_id, row.reason);
      }
    };
    const outstanding = (): number => {
      let total = 0;
      for (const spec of ENDPOINTS) {
        const done = spec.dead ? deadLetters.get(spec.path) : ledger.get(spec.path)!.successes;
        for (const e of expected.get(spec.path)!) if (!done?.has(e.id)) total++;
      }
      return total;
    };
    await readDeadLetters();
    log(`publishing and faults done; draining (${outstanding()} deliveries or dead letters outstanding)`);
    const drainStart = Date.now();
    let lastReport = Date.now();
    let lastLeft = outstanding();
    let lastMoved = Date.now();
    let stalled = false;
    for (;;) {
      await readDeadLetters();
      const left = outstanding();
      if (left !== lastLeft) {
        lastLeft = left;
        lastMoved = Date.now();
      }
      if (Date.now() - lastReport > 15_000) {
        log(`draining: ${left} outstanding`);
        lastReport = Date.now();
      }
      stalled = Date.now() - lastMoved > CONFIG.stallS * 1000;
      if (left === 0 || stalled || secondsSince(drainStart) > CONFIG.drainTimeoutS) break;
      await sleep(1_000);
    }
    const drainS = secondsSince(drainStart);
    if (stalled) log(`drain stalled: no progress for ${CONFIG.stallS} s`);
    // Duplicates from the last in-flight windows still arrive a moment after the last first delivery.
    await sleep(SMOKE ? 1_000 : 3_000);
    cluster.stopScraping();
    await cluster.readAll();
    await readDeadLetters();
    const heldRows = await db.query<{ endpoint_id: string; count: number }>(
      'SELECT endpoint_id, count(*)::int AS count FROM held_deliveries GROUP BY endpoint_id',
    );
    const heldAtEnd = new Map(
      heldRows.rows.map((r) => [endpointIds.get(r.endpoint_id) ?? r.endpoint_id, r.count]),
    );

    const report = buildLedger({
      endpoints: ENDPOINTS,
      published,
      expected,
      ledger,
      deadLetters,
      heldAtEnd,
      faults,
      counters: cluster.counters(),
      startedMs: started,
    });
    const full = {
      ...report,
      dlqTopicRecords: await countTopic(kafka, `${namespace}.dlq`).catch(() => -1),
      unplannedExits: cluster.unplannedExits.map((e) => ({ ...e, atS: round((e.atMs - started) / 1000, 1) })),
      producerSendRetries: sendRetries,
      drainSeconds: drainS,
      drainStalled: stalled,
      durationSeconds: elapsedS(),
      setup: {
        smoke: SMOKE,
        ...CONFIG,
        replicas: 'replica-1..3, each api,fanout,delivery, one namespace, one fresh database',
        brokers: BROKERS.join(','),
        serviceEnv: { ...env, DATABASE_URL: '(fresh database)' },
        endpoints: ENDPOINTS,
        tenants: 'a (4 endpoints) and b (3 endpoints); events alternate a/b, key = tenant id',
        publisher:
          'kafkajs, acks=-1, one send at a time, retried until acknowledged; only acknowledged events count',
      },
      machine: machineInfo(ROOT),
    };
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const file = SMOKE ? 'chaos-cluster-smoke.json' : 'chaos-cluster-latest.json';
    writeFileSync(join(outDir, file), `${JSON.stringify(full, null, 2)}\n`);
    printLedger(full);
    log(`wrote bench/results/${file}`);
    process.exitCode = report.ok && !stalled ? 0 : 1;
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await replicas?.stopAll();
    await db?.end().catch(() => undefined);
    await receiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic]);
    await database?.drop().catch(() => undefined);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error('[chaos-cluster] failed:', error);
    process.exit(1);
  },
);
