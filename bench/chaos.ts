/**
 * `npm run chaos`: a crash and fault test that keeps a ledger of every event.
 *
 * Publishes CHAOS_EVENTS events (default 20,000) at CHAOS_RATE per second to seven endpoints of two
 * tenants (two steady, three failing ~30 % of first attempts, two `ordering: strict` failing some
 * first attempts, one of them in order per ordering key) while it SIGKILLs and restarts the service
 * several times, restarts the Kafka broker once (and SIGKILLs the service CHAOS_KILL_IN_OUTAGE_AFTER_S
 * into that outage, so settlements die with their Kafka writes half done) and stops PostgreSQL for
 * CHAOS_PG_PAUSE_S seconds once. Then it drains and reports
 * published (acknowledged with acks=all), delivered (unique per endpoint), lost, duplicates and order
 * violations on the strict endpoint, and exits 1 if anything was lost or out of order.
 *
 * A third, hostile tenant publishes beside them, CHAOS_HOSTILE_ROUNDS times spread over the run:
 * one record of every kind in bench/lib/hostile.ts to the input topic (invalid UTF-8, NUL, control
 * characters, unpaired surrogates, deep nesting, a record near the broker's size limit, dates and
 * numbers past their ranges, undecodable keys, unknown and garbage tenant ids, huge headers), the
 * same through `POST /v1/events`, and a burst past its ingest rate; its own endpoints hang, answer
 * after seconds, or answer with a 2 MiB body. The ledger counts only the normal tenants' deliveries;
 * the hostile tenant's figures are reported beside it: what was sent by kind, how the REST API
 * answered, and what was dead-lettered (read back from the DLQ topic, by kind and reason).
 *
 * CHAOS_SMOKE=1 (`npm run chaos:smoke`): 500 events, one kill, a ~3 s PostgreSQL pause, no broker
 * restart, three hostile rounds; writes bench/results/chaos-smoke.json instead of chaos-latest.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Message, Producer } from 'kafkajs';
import { Api } from './lib/api';
import { createDatabase, type BenchDatabase } from './lib/db';
import {
  FLOOD_KIND,
  floodBody,
  HOSTILE_KAFKA_KINDS,
  HOSTILE_REST_KINDS,
  KIND_HEADER,
  type HostileVerdict,
} from './lib/hostile';
import {
  benchKafka,
  cloudEvent,
  connectedProducer,
  deleteNamespaceTopics,
  readTopic,
  type ReadRecord,
  uniqueNamespace,
  withAdmin,
} from './lib/kafka';
import { Receiver, type Delivery } from './lib/receiver';
import { ensureServiceBuilt, ROOT, sleep, startService, until, type Service } from './lib/service';
import { countTopic, failsFirstAttempt, infra, secondsSince, sendUntilAcknowledged } from './lib/faults';
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
  /** Ordering keys (partitionkey) the chaos.strict events spread over; /a/strict-keyed orders per key. */
  strictKeys: num('CHAOS_STRICT_KEYS', 8, 4),
  /** Seconds into the broker's outage at which the service is SIGKILLed (when kills allow). */
  killInOutageAfterS: num('CHAOS_KILL_IN_OUTAGE_AFTER_S', 5, 5),
  drainTimeoutS: num('CHAOS_DRAIN_TIMEOUT_S', 900, 60),
  stallS: num('CHAOS_STALL_S', 180, 45),
  timeLimitS: num('CHAOS_TIME_LIMIT_S', 1800, 170),
  /** Rounds of hostile records, spread over the publishing; each sends one record of every kind. */
  hostileRounds: num('CHAOS_HOSTILE_ROUNDS', 20, 3),
  /** The hostile tenant's burst of small events per round, past HOSTILE_INGEST_RATE. */
  hostileFlood: num('CHAOS_HOSTILE_FLOOD', 40, 40),
};

/**
 * Events a second one tenant may publish over REST (HOOKSTREAM_TENANT_INGEST_RATE, and the burst):
 * low, so the hostile tenant's flood meets it. The normal tenants publish to Kafka, unaffected.
 */
const HOSTILE_INGEST_RATE = 20;
/** Events in one send of the normal publisher: about 250 KB, far below the broker's 1 MiB. */
const MAX_EVENTS_PER_SEND = 500;
/** The hostile endpoints: one never answers, one answers after SLOW_ANSWER_MS, one with LARGE_BODY. */
const SLOW_ANSWER_MS = 4_000;
const LARGE_BODY = 'L'.repeat(2 * 1024 * 1024);
const HOSTILE_ENDPOINTS = [
  { path: '/h/hang', maxConcurrency: 100 },
  { path: '/h/slow', maxConcurrency: 20 },
  { path: '/h/large', maxConcurrency: 5 },
] as const;
/** How long to wait after the drain for the hostile records to reach the dead-letter topic. */
const HOSTILE_SETTLE_MS = 30_000;

const kafka = benchKafka('hookstream-chaos');

interface EndpointSpec {
  path: string;
  tenant: 'a' | 'b';
  eventTypes: string[];
  failRate: number;
  ordering: 'none' | 'strict';
  /** Above 1 with ordering keys: order is per key (src/domain/ordering-key.ts). */
  maxConcurrency?: number;
}

/** The ordering key of a chaos.strict event, from its seq (the receiver's ledger recomputes it). */
function strictKeyOf(seq: number): string {
  return `k${Math.floor(seq / 2) % CONFIG.strictKeys}`;
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
  {
    path: '/a/strict-keyed',
    tenant: 'a',
    eventTypes: ['chaos.strict'],
    failRate: CONFIG.strictFailRate,
    ordering: 'strict',
    maxConcurrency: 4,
  },
  { path: '/b/steady', tenant: 'b', eventTypes: ['*'], failRate: 0, ordering: 'none' },
  { path: '/b/flaky', tenant: 'b', eventTypes: ['*'], failRate: CONFIG.flakyFailRate, ordering: 'none' },
];

function matches(spec: EndpointSpec, type: string): boolean {
  return spec.eventTypes.some((t) => t === '*' || t === type);
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

  // The hostile tenant's endpoints live on a host of their own (another port), as they would.
  const hostileRequests = new Map<string, number>(HOSTILE_ENDPOINTS.map((e) => [e.path, 0]));
  const hostileReceiver = await new Receiver((d: Delivery) => {
    hostileRequests.set(d.path, (hostileRequests.get(d.path) ?? 0) + 1);
    if (d.path === '/h/hang') return 'hang';
    if (d.path === '/h/slow') return { status: 204, delayMs: SLOW_ANSWER_MS };
    return { status: 200, body: LARGE_BODY };
  }).start();

  const namespace = uniqueNamespace(SMOKE ? 'chaos-smoke' : 'chaos');
  const inputTopic = `${namespace}.input`;
  let database: BenchDatabase | undefined;
  let service: Service | undefined;
  let producer: Producer | undefined;
  let hostileProducer: Producer | undefined;
  let pgStopped = false;
  const faults: FaultRecord[] = [];
  let unplannedExits = 0;
  let restarts = 0;
  let plannedKill = false;
  /** Every service's log, kills and restarts included. */
  const logPaths: string[] = [];

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
      HOOKSTREAM_TENANT_INGEST_RATE: String(HOSTILE_INGEST_RATE),
      // The default, one worker per core: a SIGKILL of the service takes every worker with it.
      HOOKSTREAM_WORKERS: process.env.CHAOS_WORKERS ?? 'auto',
    };
    await createInputTopic(inputTopic, Number(env.HOOKSTREAM_INPUT_PARTITIONS));
    const lastError = (): string => {
      const errors = (service?.logs ?? []).filter((l) => typeof l.level === 'number' && l.level >= 50);
      return errors.length ? String(errors[errors.length - 1].msg).slice(0, 300) : 'none logged';
    };
    const boot = async (label: string): Promise<Service> => {
      const deadline = Date.now() + 180_000;
      for (let attempt = 1; ; attempt++) {
        try {
          const s = await startService(env, { label, readyTimeoutMs: 90_000 });
          logPaths.push(s.logPath);
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
    const normalEndpointIds: string[] = [];
    for (const spec of ENDPOINTS) {
      const tenant = spec.tenant === 'a' ? tenantA : tenantB;
      const { id } = await tenant.api.createEndpoint({
        url: receiver.url(spec.path),
        eventTypes: spec.eventTypes,
        ordering: spec.ordering,
        ...(spec.maxConcurrency === undefined ? {} : { maxConcurrency: spec.maxConcurrency }),
      });
      normalEndpointIds.push(id);
    }
    const tenantH = await admin.createTenant('chaos-hostile');
    const hostileEndpointIds: string[] = [];
    for (const { path, maxConcurrency } of HOSTILE_ENDPOINTS) {
      const endpoint = await tenantH.api.createEndpoint({ url: hostileReceiver.url(path), maxConcurrency });
      hostileEndpointIds.push(endpoint.id);
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
        // Capped: after a broker restart the events due pile up, and one send of them all can pass
        // the broker's message.max.bytes (MESSAGE_TOO_LARGE, retried forever).
        const due = Math.min(
          CONFIG.events,
          next + MAX_EVENTS_PER_SEND,
          Math.floor(((Date.now() - start) / 1000) * CONFIG.rate),
        );
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
          const message = cloudEvent({
            tenantId: tenant === 'a' ? tenantA.id : tenantB.id,
            type,
            seq,
            ...(type === 'chaos.strict' ? { partitionKey: strictKeyOf(seq) } : {}),
          });
          const id = (JSON.parse(String(message.value)) as { id: string }).id;
          batch.push({ message, entry: { id, tenant, type, seq } });
        }
        sendRetries += await sendUntilAcknowledged(
          producer,
          inputTopic,
          batch.map((b) => b.message),
          log,
        );
        for (const b of batch) published.push(b.entry);
        next = due;
      }
      log(`published ${published.length} events (acknowledged), ${sendRetries} send retries`);
    })();

    // --- faults, in sequence while the events flow ---
    const publishSeconds = CONFIG.events / CONFIG.rate;
    const kill = async (n: number, whileDown?: () => Promise<void>): Promise<void> => {
      const t0 = Date.now();
      plannedKill = true;
      await service!.kill();
      plannedKill = false;
      log(`SIGKILL #${n} (pid ${service!.pid}); restarting`);
      await whileDown?.();
      service = await boot(`chaos-service-restart-${n}`);
      restarts++;
      faults.push({
        atS: round((t0 - started) / 1000, 1),
        fault: `SIGKILL #${n} + restart`,
        tookS: secondsSince(t0),
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
        log('restarting the Kafka broker (scripts/infra.sh kafka-stop, then kafka-start)');
        let code = await infra('kafka-stop');
        const start = async (): Promise<void> => {
          if (code === 0) code = await infra('kafka-start');
          faults.push({
            atS: round((t0 - started) / 1000, 1),
            fault: 'Kafka broker restart',
            tookS: secondsSince(t0),
            note: `exit ${code}`,
          });
          log(`Kafka broker back (exit ${code}) after ${secondsSince(t0)} s`);
          if (code !== 0) throw new Error('kafka-stop or kafka-start failed');
        };
        if (kills < CONFIG.kills) {
          // Killed while the broker is down: settlements whose tier writes are still retrying die
          // half done (a strict hand-on between its promotion and its tier write, decision 62).
          await sleep(CONFIG.killInOutageAfterS * 1000);
          await kill(++kills, start);
        } else {
          await start();
        }
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
          tookS: secondsSince(t0),
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

    // --- the hostile tenant, interleaved with the normal publishing ---
    const hostileSender = await connectedProducer(kafka);
    hostileProducer = hostileSender;
    const hostile = new HostileTally();
    const hostileContext = {
      producer: hostileSender,
      topic: inputTopic,
      tenantId: tenantH.id,
      apiKey: tenantH.apiKey,
      serviceUrl: () => service!.url,
      // An answer given while PostgreSQL is stopped is told apart: the API needs it for API keys.
      condition: () => (pgStopped ? ' while PostgreSQL was stopped' : ''),
      tally: hostile,
    };
    // All rounds but the last spread over the publishing; the last once the faults are over, so
    // even the smoke, whose faults overlap its few rounds, sees how the API answers a calm moment.
    const hostiling = (async () => {
      const spread = Math.max(0, CONFIG.hostileRounds - 1);
      for (let round = 0; round < spread; round++) {
        await at((round + 0.5) / spread);
        await hostileRound(hostileContext);
      }
    })();
    await Promise.all([publishing, faulting, hostiling]);
    if (CONFIG.hostileRounds > 0) await hostileRound(hostileContext);
    log(`hostile tenant: ${CONFIG.hostileRounds} rounds sent`);

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
    const drainS = secondsSince(drainStart);
    const serviceErrors = service.logs
      .filter((l) => typeof l.level === 'number' && l.level >= 50)
      .map((l) => String(l.msg).slice(0, 200));
    // Duplicates from the last in-flight windows still arrive a moment after the last first delivery.
    await sleep(SMOKE ? 1_000 : 3_000);

    // --- the hostile tenant's dead letters, read back from the DLQ topic ---
    const dlqTopic = `${namespace}.dlq`;
    // Polled (the count is a broker call, which `until` cannot await): the topic holds at least the
    // hostile records the contract dead-letters, or the deadline passed.
    const settleDeadline = Date.now() + HOSTILE_SETTLE_MS;
    while (
      Date.now() < settleDeadline &&
      (await countTopic(kafka, dlqTopic).catch(() => 0)) < hostile.expectedDeadLetters()
    ) {
      await sleep(1_000);
    }
    const deadLetters = await readTopic(kafka, dlqTopic).catch((error: unknown) => {
      log(`reading the DLQ failed: ${(error as Error).message}`);
      return [];
    });
    const normalKeys = new Set([tenantA.id, tenantB.id, ...normalEndpointIds]);
    const hostileFigures = hostile.report(
      deadLetters,
      normalKeys,
      new Set(hostileEndpointIds),
      hostileRequests,
    );
    const perEndpoint = ENDPOINTS.map((spec) => {
      const entry = ledger.get(spec.path)!;
      const exp = expected.get(spec.path)!;
      const delivered = exp.filter((e) => entry.successes.has(e.id)).length;
      let duplicates = 0;
      for (const count of entry.successes.values()) duplicates += count - 1;
      let orderViolations = 0;
      // Per ordering key on an endpoint that orders per key; the whole stream is one key otherwise.
      const highest = new Map<string, number>();
      for (const seq of entry.firstSuccessSeqs) {
        const key = (spec.maxConcurrency ?? 1) > 1 ? strictKeyOf(seq) : '';
        if (seq < (highest.get(key) ?? -1)) orderViolations++;
        highest.set(key, Math.max(highest.get(key) ?? -1, seq));
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
      strictPerKeyOrderViolations:
        perEndpoint.find((e) => e.endpoint === '/a/strict-keyed')?.orderViolations ?? 0,
    };
    const report = {
      ...totals,
      // The normal tenants' dead letters (a dead letter of theirs is lost until replayed).
      deadLettered: hostileFigures.deadLetters.ofNormalTenants,
      ok:
        totals.lost === 0 &&
        totals.strictOrderViolations === 0 &&
        totals.strictPerKeyOrderViolations === 0 &&
        unplannedExits === 0 &&
        hostileFigures.deadLetters.ofNormalTenants === 0,
      perEndpoint,
      faults,
      serviceKills: faults.filter((f) => f.fault.startsWith('SIGKILL')).length,
      restarts,
      unplannedServiceExits: unplannedExits,
      producerSendRetries: sendRetries,
      drainSeconds: drainS,
      drainStalled: stalled,
      hostile: hostileFigures,
      serviceErrorsSinceLastRestart: [...new Set(serviceErrors)].slice(0, 10),
      // Blocks a killed process left on a promoted, never handed-on strict delivery, repaired.
      strictHandOnsRecovered: countLines(logPaths, 'never handed on'),
      durationSeconds: elapsedS(),
      setup: {
        smoke: SMOKE,
        ...CONFIG,
        serviceEnv: { ...env, DATABASE_URL: '(fresh database)' },
        tenants:
          'a (4 endpoints) and b (2 endpoints); events alternate a/b, key = tenant id; a hostile tenant h (3 endpoints: hang, slow, large body) beside them',
        hostileIngestRatePerSec: HOSTILE_INGEST_RATE,
        workers: process.env.CHAOS_WORKERS ?? 'auto',
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
    await hostileProducer?.disconnect().catch(() => undefined);
    await service?.stop();
    await receiver.stop();
    await hostileReceiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic]);
    await database?.drop().catch(() => undefined);
  }
}

/** Lines containing `text` over every file of `paths`. */
function countLines(paths: string[], text: string): number {
  let count = 0;
  for (const path of paths) {
    for (const line of readFileSync(path, 'utf8').split('\n')) if (line.includes(text)) count++;
  }
  return count;
}

/**
 * The platform's input topic, made before the service starts (it reuses it) so that the broker
 * accepts the hostile tenant's far-future record timestamps (Kafka 4 refuses those over an hour
 * ahead by default, and Hookstream must cope with any int64 a broker configured so lets through).
 */
async function createInputTopic(topic: string, partitions: number): Promise<void> {
  await withAdmin(kafka, (admin) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: partitions,
          configEntries: [{ name: 'message.timestamp.after.max.ms', value: '9223372036854775807' }],
        },
      ],
    }),
  );
}

/** What the hostile tenant sent and what became of it. */
class HostileTally {
  /** kind -> [acknowledged by the broker, refused by it]; with the kind's verdict. */
  readonly kafka = new Map<string, { verdict: HostileVerdict; sent: number; sendFailed: number }>();
  /** kind -> status (or `no answer`) -> count. */
  readonly rest = new Map<string, Map<string, number>>();

  sentToKafka(kind: string, verdict: HostileVerdict, acknowledged: boolean): void {
    const entry = this.kafka.get(kind) ?? { verdict, sent: 0, sendFailed: 0 };
    if (acknowledged) entry.sent++;
    else entry.sendFailed++;
    this.kafka.set(kind, entry);
  }

  /** Why requests got no answer (a few distinct messages). */
  readonly restErrors = new Set<string>();

  failed(error: unknown): void {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    if (this.restErrors.size < 10)
      this.restErrors.add(`${(error as Error).message}${cause ? `: ${cause}` : ''}`);
  }

  answered(kind: string, status: string): void {
    const statuses = this.rest.get(kind) ?? new Map<string, number>();
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    this.rest.set(kind, statuses);
  }

  expectedDeadLetters(): number {
    let total = 0;
    for (const e of this.kafka.values()) if (e.verdict === 'dead-lettered') total += e.sent;
    return total;
  }

  /**
   * The figures for the report. A dead letter is the hostile tenant's when it carries a kind header,
   * its key is the hostile tenant's id or endpoint (a delivery given up on), or it is keyed by
   * neither normal tenant nor their endpoints; the normal tenants' must be 0.
   */
  report(
    deadLetters: ReadRecord[],
    normalKeys: Set<string>,
    hostileEndpointIds: Set<string>,
    requests: Map<string, number>,
  ) {
    const byKind = new Map<string, Map<string, number>>();
    const deliveriesByReason = new Map<string, number>();
    let ofNormalTenants = 0;
    let otherHostile = 0;
    const bump = (map: Map<string, number>, key: string): void => {
      map.set(key, (map.get(key) ?? 0) + 1);
    };
    for (const record of deadLetters) {
      const reason = record.headers['hs-reason'] ?? 'unknown';
      const kind = record.headers[KIND_HEADER];
      const key = record.key?.toString() ?? '';
      if (kind !== undefined) {
        const reasons = byKind.get(kind) ?? new Map<string, number>();
        bump(reasons, reason);
        byKind.set(kind, reasons);
      } else if (hostileEndpointIds.has(key)) {
        bump(deliveriesByReason, reason);
      } else if (normalKeys.has(key)) {
        ofNormalTenants++;
      } else {
        otherHostile++;
      }
    }
    const kafka = [...this.kafka.entries()].map(([kind, e]) => {
      const reasons = Object.fromEntries(byKind.get(kind) ?? []);
      const deadLettered = Object.values(reasons).reduce((a, b) => a + b, 0);
      return { kind, verdict: e.verdict, sent: e.sent, sendFailed: e.sendFailed, deadLettered, reasons };
    });
    const rest = [...this.rest.entries()].map(([kind, statuses]) => ({
      kind,
      answers: Object.fromEntries([...statuses.entries()].sort()),
    }));
    /** Answers whose status (the answer without the fault going on) passes `test`. */
    const restCount = (test: (answer: string) => boolean): number =>
      [...this.rest.values()].reduce(
        (sum, statuses) =>
          sum + [...statuses.entries()].filter(([a]) => test(a)).reduce((n, [, c]) => n + c, 0),
        0,
      );
    const restTotal = (status: string): number => restCount((a) => a.split(' while ')[0] === status);
    const sum = (pick: (k: (typeof kafka)[number]) => number, verdict?: HostileVerdict): number =>
      kafka.filter((k) => !verdict || k.verdict === verdict).reduce((a, k) => a + pick(k), 0);
    return {
      kafkaRecordsSent: sum((k) => k.sent),
      kafkaSendsRefused: sum((k) => k.sendFailed),
      restRequests: [...this.rest.values()].reduce(
        (sum, statuses) => sum + [...statuses.values()].reduce((a, b) => a + b, 0),
        0,
      ),
      answered202: restTotal('202'),
      answered400: restTotal('400'),
      answered401: restTotal('401'),
      answered413: restTotal('413'),
      answered429: restTotal('429'),
      answered5xx: restCount((a) => a.startsWith('5')),
      answeredWhilePostgresStopped: restCount((a) => a.includes(' while PostgreSQL was stopped')),
      restNoAnswer: restTotal('no answer'),
      restErrors: [...this.restErrors],
      deadLetters: {
        expectedOfKafkaRecords: sum((k) => k.sent, 'dead-lettered'),
        ofKafkaRecords: sum((k) => k.deadLettered),
        /** Records the contract delivers that were dead-lettered anyway (should be 0). */
        ofDeliverableRecords: sum((k) => k.deadLettered, 'delivered'),
        ofHostileDeliveries: Object.fromEntries(deliveriesByReason),
        otherHostile,
        ofNormalTenants,
      },
      endpointRequests: Object.fromEntries(requests),
      kafka,
      rest,
    };
  }
}

const REST_TIMEOUT_MS = 30_000;
/** How long the hostile tenant retries a refused connection (the service restarting), and how often. */
const REST_RETRY_WHILE_DOWN_MS = 60_000;
const REST_RETRY_PAUSE_MS = 500;
const GARBAGE_API_KEY = 'hs_garbage_0123456789abcdefghijklmnopqrstuvwxyz';

interface HostileContext {
  producer: Producer;
  topic: string;
  tenantId: string;
  apiKey: string;
  serviceUrl: () => string;
  /** Said after each REST answer's status: the fault going on, if any. */
  condition: () => string;
  tally: HostileTally;
}

/** One hostile round: every Kafka kind (each its own send), every REST kind, then the flood. */
async function hostileRound({
  producer,
  topic,
  tenantId,
  apiKey,
  serviceUrl,
  condition,
  tally,
}: HostileContext): Promise<void> {
  for (const { kind, verdict, build } of HOSTILE_KAFKA_KINDS) {
    const acknowledged = await producer
      .send({ topic, acks: -1, messages: [build(tenantId)] })
      .then(() => true)
      .catch(() => false);
    tally.sentToKafka(kind, verdict, acknowledged);
  }
  const attempt = (body: Buffer, bearer: string): Promise<string> =>
    fetch(`${serviceUrl()}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(REST_TIMEOUT_MS),
    }).then(async (response) => {
      await response.arrayBuffer();
      return String(response.status);
    });
  const post = async (kind: string, body: Buffer, bearer: string): Promise<void> => {
    // A client retries while the service is down (killed and restarting), as a real one would, so
    // the figures say how the API answers, not how often the chaos had it down.
    const deadline = Date.now() + REST_RETRY_WHILE_DOWN_MS;
    for (;;) {
      try {
        tally.answered(kind, `${await attempt(body, bearer)}${condition()}`);
        return;
      } catch (error) {
        const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
        if (!refused || Date.now() > deadline) {
          tally.failed(error);
          tally.answered(kind, 'no answer');
          return;
        }
        await sleep(REST_RETRY_PAUSE_MS);
      }
    }
  };
  for (const k of HOSTILE_REST_KINDS)
    await post(k.kind, k.body(), k.token === 'garbage' ? GARBAGE_API_KEY : apiKey);
  await Promise.all(Array.from({ length: CONFIG.hostileFlood }, () => post(FLOOD_KIND, floodBody(), apiKey)));
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
    'strictPerKeyOrderViolations',
    'strictHandOnsRecovered',
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
  const hostile = totals.hostile as {
    kafkaRecordsSent: number;
    restRequests: number;
    deadLetters: Record<string, unknown>;
  } & Record<string, unknown>;
  console.log(
    `hostile tenant: ${hostile.kafkaRecordsSent} Kafka records, ${hostile.restRequests} REST requests ` +
      `(202 ${String(hostile.answered202)}, 400 ${String(hostile.answered400)}, 401 ${String(hostile.answered401)}, ` +
      `413 ${String(hostile.answered413)}, 429 ${String(hostile.answered429)}, 5xx ${String(hostile.answered5xx)}, ` +
      `no answer ${String(hostile.restNoAnswer)}); dead-lettered ${String(hostile.deadLetters.ofKafkaRecords)} ` +
      `of ${String(hostile.deadLetters.expectedOfKafkaRecords)} expected`,
  );
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
