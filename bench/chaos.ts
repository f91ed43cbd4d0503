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
import type { Producer } from 'kafkajs';
import { Api } from './lib/api';
import { CONFIG, ENDPOINTS, HOSTILE_INGEST_RATE, SMOKE } from './lib/chaos-config';
import { ChaosLedger } from './lib/chaos-ledger';
import { publishEvents, type PublishedEvent } from './lib/chaos-publisher';
import { buildReport, writeReport } from './lib/chaos-report';
import { FaultSchedule } from './lib/chaos-schedule';
import { ChaosSupervisor } from './lib/chaos-supervisor';
import { createDatabase, type BenchDatabase } from './lib/db';
import { infra } from './lib/faults';
import {
  createHostileEndpoints,
  HostileTally,
  hostileRound,
  readDeadLetters,
  startHostileReceiver,
} from './lib/hostile-tenant';
import {
  benchKafka,
  connectedProducer,
  deleteNamespaceTopics,
  uniqueNamespace,
  withAdmin,
} from './lib/kafka';
import { Receiver } from './lib/receiver';
import { ensureServiceBuilt, sleep, until } from './lib/service';
import { round } from './lib/stats';

const kafka = benchKafka('hookstream-chaos');

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
  const ledger = new ChaosLedger();
  const receiver = await new Receiver((d) => ledger.answer(d)).start();
  const { receiver: hostileReceiver, requests: hostileRequests } = await startHostileReceiver();

  const namespace = uniqueNamespace(SMOKE ? 'chaos-smoke' : 'chaos');
  const inputTopic = `${namespace}.input`;
  let database: BenchDatabase | undefined;
  let keepEvidence = false;
  const supervisor = new ChaosSupervisor(log);
  let producer: Producer | undefined;
  let hostileProducer: Producer | undefined;
  const schedule = new FaultSchedule({ supervisor, started, log });

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
    const service = await supervisor.start(env, 'chaos-service');
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
    const hostileEndpointIds = await createHostileEndpoints(tenantH.api, hostileReceiver);
    await sleep(1_000); // endpoint cache: LISTEN/NOTIFY

    // --- publisher: acks=all, one send at a time (order per tenant), retried until acknowledged ---
    producer = await connectedProducer(kafka);
    const published: PublishedEvent[] = [];
    const publishing = publishEvents({
      producer,
      topic: inputTopic,
      tenantIds: { a: tenantA.id, b: tenantB.id },
      published,
      log,
    });

    // --- faults, in sequence while the events flow ---
    const publishSeconds = CONFIG.events / CONFIG.rate;
    const at = async (fraction: number): Promise<void> => {
      // waits until `fraction` of the publishing time has passed (or publishing is over)
      await until(() => published.length >= CONFIG.events * fraction, publishSeconds * 1000 + 600_000, 100);
    };
    const faulting = schedule.run(at);

    // --- the hostile tenant, interleaved with the normal publishing ---
    const hostileSender = await connectedProducer(kafka);
    hostileProducer = hostileSender;
    const hostile = new HostileTally();
    const hostileContext = {
      producer: hostileSender,
      topic: inputTopic,
      tenantId: tenantH.id,
      apiKey: tenantH.apiKey,
      serviceUrl: () => supervisor.service!.url,
      // An answer given while PostgreSQL is stopped is told apart: the API needs it for API keys.
      condition: () => (schedule.pgStopped ? ' while PostgreSQL was stopped' : ''),
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
    const [sendRetries] = await Promise.all([publishing, faulting, hostiling]);
    if (CONFIG.hostileRounds > 0) await hostileRound(hostileContext);
    log(`hostile tenant: ${CONFIG.hostileRounds} rounds sent`);

    // --- drain ---
    ledger.expect(published);
    const { drainS, stalled } = await ledger.drain(log, () => supervisor.lastError());
    const serviceErrors = supervisor
      .service!.logs.filter((l) => typeof l.level === 'number' && l.level >= 50)
      .map((l) => String(l.msg).slice(0, 200));
    // Duplicates from the last in-flight windows still arrive a moment after the last first delivery.
    await sleep(SMOKE ? 1_000 : 3_000);

    // --- the hostile tenant's dead letters, read back from the DLQ topic ---
    const deadLetters = await readDeadLetters(kafka, `${namespace}.dlq`, hostile, log);
    const normalKeys = new Set([tenantA.id, tenantB.id, ...normalEndpointIds]);
    const hostileFigures = hostile.report(
      deadLetters,
      normalKeys,
      new Set(hostileEndpointIds),
      hostileRequests,
    );
    const report = buildReport({
      published,
      perEndpoint: ledger.perEndpoint(),
      hostileFigures,
      faults: schedule.faults,
      supervisor,
      sendRetries,
      drainS,
      stalled,
      serviceErrors,
      elapsedS,
      env,
    });
    const file = writeReport(report);
    log(`wrote bench/results/${file}`);
    process.exitCode = report.ok ? 0 : 1;
    keepEvidence = !report.ok;
  } finally {
    if (schedule.pgStopped) await infra('pg-start');
    supervisor.plannedKill = true;
    await producer?.disconnect().catch(() => undefined);
    await hostileProducer?.disconnect().catch(() => undefined);
    await supervisor.service?.stop();
    await receiver.stop();
    await hostileReceiver.stop();
    if (keepEvidence) {
      // A failed run keeps its topics, consumer groups and database, to be read after it.
      log(`run failed: kept topics ${namespace}.* and database ${database?.name ?? '(none)'}`);
    } else {
      await deleteNamespaceTopics(kafka, namespace, [inputTopic]);
      await database?.drop().catch(() => undefined);
    }
  }
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

main().then(
  () => process.exit(process.exitCode ?? 0),
  async (error: unknown) => {
    console.error('[chaos] failed:', error);
    process.exit(1);
  },
);
