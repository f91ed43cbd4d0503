/**
 * `npm run chaos`: a crash and fault test that keeps a ledger of every event.
 *
 * Publishes CHAOS_EVENTS events (default 20,000) at CHAOS_RATE per second to six endpoints of two
 * tenants (two steady, three failing ~30 % of first attempts, one `ordering: strict` failing some
 * first attempts) while it SIGKILLs and restarts the service several times, restarts the Kafka
 * broker once and stops PostgreSQL for CHAOS_PG_PAUSE_S seconds once. Then it drains and reports
 * published (acknowledged with acks=all), delivered (unique per endpoint), lost, duplicates and order
 * violations on the strict endpoint, and exits 1 if anything was lost or out of order.
 *
 * CHAOS_SMOKE=1 (`npm run chaos:smoke`): 500 events, one kill, a ~3 s PostgreSQL pause, no broker
 * restart; writes bench/results/chaos-smoke.json instead of chaos-latest.json.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message, Producer } from 'kafkajs';
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
import { machineInfo, round } from './lib/stats';

const SMOKE = process.env.CHAOS_SMOKE === '1';
const num = (name: string, full: number, smoke: number): number =>
  process.env[name] ? Number(process.env[name]) : SMOKE ? smoke : full;

const CONFIG = {
  events: num('CHAOS_EVENTS', 20_000, 500),
  rate: num('CHAOS_RATE', 200, 100),
  kills: num('CHAOS_KILLS', 4, 1),
  brokerRestart: num('CHAOS_BROKER_RESTART', 1, 0) > 0,
  pgPauseS: num('CHAOS_PG_PAUSE_S', 30, 3),
  flakyFailRate: num('CHAOS_FLAKY_RATE', 0.3, 0.3),
  strictFailRate: num('CHAOS_STRICT_FAIL_RATE', 0.1, 0.1),
  /** Every strictEvery-th event of tenant A is of type chaos.strict (the strict endpoint's events). */
  strictEvery: num('CHAOS_STRICT_EVERY', 20, 5),
  drainTimeoutS: num('CHAOS_DRAIN_TIMEOUT_S', 900, 60),
  stallS: num('CHAOS_STALL_S', 180, 45),
  timeLimitS: num('CHAOS_TIME_LIMIT_S', 1800, 170),
};

const kafka = benchKafka('hookstream-chaos');

interface EndpointSpec {
  path: string;
  tenant: 'a' | 'b';
  eventTypes: string[];
  failRate: number;
  ordering: 'none' | 'strict';
}

const ENDPOINTS: EndpointSpec[] = [
  { path: '/a/steady', tenant: 'a', eventTypes: ['*'], failRate: 0, ordering: 'none' },
  { path: '/a/flaky', tenant: 'a', eventTypes: ['*'], failRate: CONFIG.flakyFailRate, ordering: 'none' },
  {
    path: '/a/flaky-x',
    tenant: 'a',
    eventTypes: ['chaos.x'],
    failRate: CONFIG.flakyFailRate,
    ordering: 'none',
  },
  {
    path: '/a/strict',
    tenant: 'a',
    eventTypes: ['chaos.strict'],
    failRate: CONFIG.strictFailRate,
    ordering: 'strict',
  },
  { path: '/b/steady', tenant: 'b', eventTypes: ['*'], failRate: 0, ordering: 'none' },
  { path: '/b/flaky', tenant: 'b', eventTypes: ['*'], failRate: CONFIG.flakyFailRate, ordering: 'none' },
];

function matches(spec: EndpointSpec, type: string): boolean {
  return spec.eventTypes.some((t) => t === '*' || t === type);
}

/** Deterministic per event and endpoint, so a rerun injects the same failures. */
function failsFirstAttempt(path: string, id: string, rate: number): boolean {
  if (rate <= 0) return false;
  const hash = createHash('sha1').update(`${path}|${id}`).digest();
  return hash.readUInt32BE(0) / 0xffffffff < rate;
}

interface PathLedger {
  /** id -> number of requests */
  requests: Map<string, number>;
  /** id -> number of 2xx answers */
  successes: Map<string, number>;
  /** seq of each event in order of its first 2xx */
  firstSuccessSeqs: number[];
  injectedFailures: number;
}

interface FaultRecord {
  atS: number;
  fault: string;
  tookS?: number;
  note?: string;
}

async function main(): Promise<void> {
  const started = Date.now();
  const elapsedS = (): number => round((Date.now() - started) / 1000, 1);
  const watchdog = setTimeout(() => {
    console.error(`[chaos] over the time limit of ${CONFIG.timeLimitS} s; giving up`);
    void infra('pg-start').finally(() => process.exit(2));
  }, CONFIG.timeLimitS * 1000);
  watchdog.unref();
  const log = (message: string): void => console.log(`[chaos ${elapsedS().toFixed(1)}s] ${message}`);

  await ensureServiceBuilt();
  const ledger = new Map<string, PathLedger>(
    ENDPOINTS.map((e) => [
      e.path,
      { requests: new Map(), successes: new Map(), firstSuccessSeqs: [], injectedFailures: 0 },
    ]),
  );
  const failRateOf = new Map(ENDPOINTS.map((e) => [e.path, e.failRate]));
  const receiver = await new Receiver((d: Delivery) => {
    const entry = ledger.get(d.path);
    if (!entry) return 404;
    const seen = entry.requests.get(d.webhookId) ?? 0;
    entry.requests.set(d.webhookId, seen + 1);
    if (seen === 0 && failsFirstAttempt(d.path, d.webhookId, failRateOf.get(d.path) ?? 0)) {
      entry.injectedFailures++;
      return 500;
    }
    const successes = entry.successes.get(d.webhookId) ?? 0;
    entry.successes.set(d.webhookId, successes + 1);
    if (successes === 0) {
      entry.firstSuccessSeqs.push((JSON.parse(d.body) as { data: { seq: number } }).data.seq);
    }
    return 204;
  }).start();

  const namespace = uniqueNamespace(SMOKE ? 'chaos-smoke' : 'chaos');
  const inputTopic = `${namespace}.input`;
  let database: BenchDatabase | undefined;
  let service: Service | undefined;
  let producer: Producer | undefined;
  let pgStopped = false;
  const faults: FaultRecord[] = [];
  let unplannedExits = 0;
  let restarts = 0;
  let plannedKill = false;

  try {
    database = await createDatabase('hs_chaos');
    const env = {
      DATABASE_URL: database.url,
      HOOKSTREAM_TOPIC_NAMESPACE: namespace,
      HOOKSTREAM_INPUT_TOPICS: inputTopic,
      HOOKSTREAM_INPUT_PARTITIONS: '3',
      HOOKSTREAM_DELIVERY_PARTITIONS: '6',
      // Enough attempts that nothing is dead-lettered during the run (a dead letter counts as lost).
      HOOKSTREAM_RETRY_DELAYS: '1s,2s,4s,8s,15s,30s,60s,120s,240s',
      HOOKSTREAM_CIRCUIT_OPEN_FOR: '5s',
      HOOKSTREAM_SHUTDOWN_TIMEOUT: '5s',
    };
    const lastError = (): string => {
      const errors = (service?.logs ?? []).filter((l) => typeof l.level === 'number' && l.level >= 50);
      return errors.length ? String(errors[errors.length - 1].msg).slice(0, 300) : 'none logged';
    };
    const boot = async (label: string): Promise<Service> => {
      const deadline = Date.now() + 180_000;
      for (let attempt = 1; ; attempt++) {
        try {
          const s = await startService(env, { label, readyTimeoutMs: 90_000 });
          s.process.once('exit', (code, signal) => {
            if (plannedKill) return;
            unplannedExits++;
            log(`service exited on its own (code ${code}, signal ${signal}); restarting`);
            void boot(`${label}-after-exit`).then((next) => (service = next));
          });
          return s;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          log(`boot attempt ${attempt} failed (${(error as Error).message.split('\n')[0]}); retrying`);
          await sleep(2_000);
        }
      }
    };
    service = await boot('chaos-service');
    const admin = new Api(service.url);
    const tenantA = await admin.createTenant('chaos-a');
    const tenantB = await admin.createTenant('chaos-b');
    for (const spec of ENDPOINTS) {
      const tenant = spec.tenant === 'a' ? tenantA : tenantB;
      await tenant.api.createEndpoint({
        url: receiver.url(spec.path),
        eventTypes: spec.eventTypes,
        ordering: spec.ordering,
      });
    }
    await sleep(1_000); // endpoint cache: LISTEN/NOTIFY

    // --- publisher: acks=all, one send at a time (order per tenant), retried until acknowledged ---
    producer = await connectedProducer(kafka);
    const published: Array<{ id: string; tenant: 'a' | 'b'; type: string; seq: number }> = [];
    let sendRetries = 0;
    const publishing = (async () => {
      const start = Date.now();
      let next = 0;
      while (next < CONFIG.events) {
        const due = Math.min(CONFIG.events, Math.floor(((Date.now() - start) / 1000) * CONFIG.rate));
        if (due <= next) {
          await sleep(20);
          continue;
        }
        const batch: Array<{ message: Message; entry: (typeof published)[number] }> = [];
        for (let seq = next; seq < due; seq++) {
          const tenant = seq % 2 === 0 ? 'a' : 'b';
          const perTenant = Math.floor(seq / 2);
          const type =
            tenant === 'a' && perTenant % CONFIG.strictEvery === 0
              ? 'chaos.strict'
              : perTenant % 2 === 0
                ? 'chaos.x'
                : 'chaos.y';
          const message = cloudEvent({ tenantId: tenant === 'a' ? tenantA.id : tenantB.id, type, seq });
          const id = (JSON.parse(String(message.value)) as { id: string }).id;
          batch.push({ message, entry: { id, tenant, type, seq } });
        }
        const sendDeadline = Date.now() + 300_000;
        for (;;) {
          try {
            await producer.send({ topic: inputTopic, acks: -1, messages: batch.map((b) => b.message) });
            break;
          } catch (error) {
            sendRetries++;
            if (Date.now() > sendDeadline) throw error;
            if (sendRetries % 10 === 1) log(`send failed (${(error as Error).message}); retrying`);
            await sleep(500);
          }
        }
        for (const b of batch) published.push(b.entry);
        next = due;
      }
      log(`published ${published.length} events (acknowledged), ${sendRetries} send retries`);
    })();

    // --- faults, in sequence while the events flow ---
    const publishSeconds = CONFIG.events / CONFIG.rate;
    const kill = async (n: number): Promise<void> => {
      const t0 = Date.now();
      plannedKill = true;
      await service!.kill();
      plannedKill = false;
      log(`SIGKILL #${n} (pid ${service!.pid}); restarting`);
      service = await boot(`chaos-service-restart-${n}`);
      restarts++;
      faults.push({
        atS: round((t0 - started) / 1000, 1),
        fault: `SIGKILL #${n} + restart`,
        tookS: secs(t0),
      });
    };
    const at = async (fraction: number): Promise<void> => {
      // waits until `fraction` of the publishing time has passed (or publishing is over)
      await until(() => published.length >= CONFIG.events * fraction, publishSeconds * 1000 + 600_000, 100);
    };
    const faulting = (async () => {
      let kills = 0;
      await at(0.1);
      await kill(++kills);
      if (CONFIG.brokerRestart) {
        await at(0.25);
        const t0 = Date.now();
        log('restarting the Kafka broker (scripts/infra.sh kafka-restart)');
        const code = await infra('kafka-restart');
        faults.push({
          atS: round((t0 - started) / 1000, 1),
          fault: 'Kafka broker restart',
          tookS: secs(t0),
          note: `exit ${code}`,
        });
        log(`Kafka broker back (exit ${code}) after ${secs(t0)} s`);
        if (code !== 0) throw new Error('kafka-restart failed');
      }
      if (kills < CONFIG.kills) {
        await at(0.4);
        await kill(++kills);
      }
      await at(SMOKE ? 0.5 : 0.55);
      {
        const t0 = Date.now();
        log(`stopping PostgreSQL for ${CONFIG.pgPauseS} s`);
        pgStopped = true;
        const stopCode = await infra('pg-stop');
        await sleep(CONFIG.pgPauseS * 1000);
        const startCode = await infra('pg-start');
        pgStopped = startCode !== 0;
        faults.push({
          atS: round((t0 - started) / 1000, 1),
          fault: `PostgreSQL stopped for ${CONFIG.pgPauseS} s`,
          tookS: secs(t0),
          note: `pg-stop exit ${stopCode}, pg-start exit ${startCode}`,
        });
        log(`PostgreSQL started again (exit ${startCode})`);
      }
      while (kills < CONFIG.kills) {
        await at(Math.min(1, 0.7 + 0.15 * (kills - 2)));
        await sleep(2_000);
        await kill(++kills);
      }
    })();

    await Promise.all([publishing, faulting]);

    // --- drain ---
    const expected = new Map<string, Array<{ id: string; seq: number }>>();
    for (const spec of ENDPOINTS) {
      expected.set(
        spec.path,
        published
          .filter((e) => e.tenant === spec.tenant && matches(spec, e.type))
          .map(({ id, seq }) => ({ id, seq })),
      );
    }
    const missing = (): number => {
      let total = 0;
      for (const spec of ENDPOINTS) {
        const successes = ledger.get(spec.path)!.successes;
        for (const e of expected.get(spec.path)!) if (!successes.has(e.id)) total++;
      }
      return total;
    };
    log(`publishing and faults done; draining (${missing()} deliveries outstanding)`);
    const drainStart = Date.now();
    let lastReport = Date.now();
    let lastLeft = missing();
    let lastMoved = Date.now();
    let stalled = false;
    await until(
      () => {
        const left = missing();
        if (left !== lastLeft) {
          lastLeft = left;
          lastMoved = Date.now();
        }
        if (Date.now() - lastReport > 15_000) {
          log(`draining: ${left} deliveries outstanding`);
          lastReport = Date.now();
        }
        // Flaky endpoints fail only first attempts, so a retry waits seconds, not the 240 s tier: no
        // progress for CHAOS_STALL_S (default 180 s) is a stall.
        stalled = Date.now() - lastMoved > CONFIG.stallS * 1000;
        return left === 0 || stalled;
      },
      CONFIG.drainTimeoutS * 1000,
      500,
    );
    if (stalled) log(`drain stalled: no progress for ${CONFIG.stallS} s; last service error: ${lastError()}`);
    const drainS = secs(drainStart);
    const serviceErrors = service.logs
      .filter((l) => typeof l.level === 'number' && l.level >= 50)
      .map((l) => String(l.msg).slice(0, 200));
    // Duplicates from the last in-flight windows still arrive a moment after the last first delivery.
    await sleep(SMOKE ? 1_000 : 3_000);

    // --- ledger ---
    const perEndpoint = ENDPOINTS.map((spec) => {
      const entry = ledger.get(spec.path)!;
      const exp = expected.get(spec.path)!;
      const delivered = exp.filter((e) => entry.successes.has(e.id)).length;
      let duplicates = 0;
      for (const count of entry.successes.values()) duplicates += count - 1;
      let orderViolations = 0;
      let highest = -1;
      for (const seq of entry.firstSuccessSeqs) {
        if (seq < highest) orderViolations++;
        highest = Math.max(highest, seq);
      }
      const lostIds = exp.filter((e) => !entry.successes.has(e.id)).map((e) => e.id);
      return {
        endpoint: spec.path,
        ordering: spec.ordering,
        injectedFirstAttemptFailRate: spec.failRate,
        expected: exp.length,
        delivered,
        lost: exp.length - delivered,
        duplicates,
        injectedFailures: entry.injectedFailures,
        requests: [...entry.requests.values()].reduce((a, b) => a + b, 0),
        orderViolations: spec.ordering === 'strict' ? orderViolations : undefined,
        outOfOrderFirstDeliveries: spec.ordering === 'none' ? orderViolations : undefined,
        lostSample: lostIds.slice(0, 5),
      };
    });
    const strict = perEndpoint.find((e) => e.ordering === 'strict')!;
    const totals = {
      published: published.length,
      expectedDeliveries: perEndpoint.reduce((a, e) => a + e.expected, 0),
      delivered: perEndpoint.reduce((a, e) => a + e.delivered, 0),
      lost: perEndpoint.reduce((a, e) => a + e.lost, 0),
      duplicates: perEndpoint.reduce((a, e) => a + e.duplicates, 0),
      strictOrderViolations: strict.orderViolations ?? 0,
    };
    const dlq = await countTopic(`${namespace}.dlq`).catch(() => -1);
    const report = {
      ...totals,
      deadLettered: dlq,
      ok: totals.lost === 0 && totals.strictOrderViolations === 0,
      perEndpoint,
      faults,
      serviceKills: faults.filter((f) => f.fault.startsWith('SIGKILL')).length,
      restarts,
      unplannedServiceExits: unplannedExits,
      producerSendRetries: sendRetries,
      drainSeconds: drainS,
      drainStalled: stalled,
      serviceErrorsSinceLastRestart: [...new Set(serviceErrors)].slice(0, 10),
      durationSeconds: elapsedS(),
      setup: {
        smoke: SMOKE,
        ...CONFIG,
        serviceEnv: { ...env, DATABASE_URL: '(fresh database)' },
        tenants: 'a (4 endpoints) and b (2 endpoints); events alternate a/b, key = tenant id',
        publisher:
          'kafkajs, acks=-1, one send at a time, retried until acknowledged; only acknowledged events count',
      },
      machine: machineInfo(ROOT),
    };
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const file = SMOKE ? 'chaos-smoke.json' : 'chaos-latest.json';
    writeFileSync(join(outDir, file), `${JSON.stringify(report, null, 2)}\n`);
    printLedger(report, perEndpoint);
    log(`wrote bench/results/${file}`);
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    if (pgStopped) await infra('pg-start');
    plannedKill = true;
    await producer?.disconnect().catch(() => undefined);
    await service?.stop();
    await receiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic]);
    await database?.drop().catch(() => undefined);
  }
}

function secs(t0: number): number {
  return round((Date.now() - t0) / 1000, 1);
}

/** Runs `bash scripts/infra.sh <command>` (bounded to 4 minutes); resolves with its exit code. */
function infra(command: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(ROOT, 'scripts', 'infra.sh'), command], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}

/** Number of records in a topic (sum of high watermarks minus low watermarks). */
async function countTopic(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

function printLedger(
  totals: Record<string, unknown>,
  perEndpoint: Array<{
    endpoint: string;
    ordering: string;
    expected: number;
    delivered: number;
    lost: number;
    duplicates: number;
    injectedFailures: number;
    orderViolations?: number;
  }>,
): void {
  console.log('');
  console.log(
    'endpoint      ordering  expected  delivered  lost  duplicates  injected 500s  order violations',
  );
  for (const e of perEndpoint) {
    console.log(
      `${e.endpoint.padEnd(13)} ${e.ordering.padEnd(9)} ${String(e.expected).padStart(8)}  ${String(e.delivered).padStart(9)}  ${String(e.lost).padStart(4)}  ${String(e.duplicates).padStart(10)}  ${String(e.injectedFailures).padStart(13)}  ${e.orderViolations ?? '-'}`,
    );
  }
  console.log('');
  for (const key of [
    'published',
    'expectedDeliveries',
    'delivered',
    'lost',
    'duplicates',
    'strictOrderViolations',
    'deadLettered',
    'serviceKills',
    'unplannedServiceExits',
    'producerSendRetries',
    'drainSeconds',
    'durationSeconds',
    'ok',
  ]) {
    console.log(`${key.padEnd(24)} ${String(totals[key])}`);
  }
  for (const f of totals.faults as FaultRecord[]) {
    console.log(
      `fault at ${String(f.atS).padStart(6)} s: ${f.fault} (${f.tookS ?? '?'} s${f.note ? `, ${f.note}` : ''})`,
    );
  }
  console.log('');
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  async (error: unknown) => {
    console.error('[chaos] failed:', error);
    process.exit(1);
  },
);
