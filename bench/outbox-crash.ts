/**
 * `npm run chaos:outbox`: the transactional outbox under crashes. A platform service updates
 * OUTBOX_CRASH_RECORDS records (20,000), each update enqueuing `record.updated` in the same
 * transaction, one in OUTBOX_CRASH_ROLLBACK_EVERY (20) rolled back instead of committed, while two
 * `hookstream-outbox-relay` processes publish the outbox to Hookstream's input topic. The relays are
 * SIGKILLed three times (one at a time, each restarted) and the run's own Kafka broker
 * (127.0.0.1:39092/39093, under .infra/outbox-crash, never the shared one) is restarted once; one
 * Hookstream delivers to a receiver, one `ordering: strict` endpoint per tenant. Ledger: lost
 * (committed, never delivered), delivered though rolled back, order per tenant (first arrivals
 * in commit order), duplicates. Exits 1 on any loss, rolled-back delivery or order violation.
 *
 * OUTBOX_CRASH_SMOKE=1 (`npm run chaos:outbox:smoke`): 500 records, one relay kill, the shared
 * broker and no restart; writes bench/results/outbox-crash-smoke.json instead of -latest.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Api } from './lib/api';
import { createDatabase, type BenchDatabase } from './lib/db';
import { ensurePublisherBuilt, PlatformService, spawnRelay } from './lib/outbox-platform';
import { Receiver } from './lib/receiver';
import { ensureServiceBuilt, ROOT, sleep, startService, type Service } from './lib/service';

const SMOKE = process.env.OUTBOX_CRASH_SMOKE === '1';
const num = (name: string, full: number, smoke: number): number =>
  process.env[name] ? Number(process.env[name]) : SMOKE ? smoke : full;
const CONFIG = {
  records: num('OUTBOX_CRASH_RECORDS', 20_000, 500),
  tenants: num('OUTBOX_CRASH_TENANTS', 8, 4),
  recordsPerTenant: 50,
  rollbackEvery: num('OUTBOX_CRASH_ROLLBACK_EVERY', 20, 20),
  relayKills: num('OUTBOX_CRASH_KILLS', 3, 1),
  brokerRestart: !SMOKE && process.env.OUTBOX_CRASH_BROKER_RESTART !== '0',
  drainTimeoutMs: num('OUTBOX_CRASH_DRAIN_S', 600, 180) * 1000,
};
const OWN_BROKER = !SMOKE;
const KAFKA_PORT = 39092;
const INFRA_DIR = join(ROOT, '.infra', 'outbox-crash');
const BROKERS = OWN_BROKER
  ? [`127.0.0.1:${KAFKA_PORT}`]
  : (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

const t0 = Date.now();
const log = (message: string) =>
  console.log(`[outbox-crash +${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}`);

/**
 * scripts/infra.sh against this run's own broker only (its own dir and ports). Asynchronous: the
 * writers and the receiver in this process go on while the broker restarts.
 */
function ownBroker(command: 'kafka-start' | 'kafka-stop' | 'kafka-restart'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'scripts', 'infra.sh'), command], {
      cwd: ROOT,
      stdio: 'inherit',
      timeout: 240_000,
      env: {
        ...process.env,
        HOOKSTREAM_INFRA_DIR: INFRA_DIR,
        HOOKSTREAM_KAFKA_PORT: String(KAFKA_PORT),
        HOOKSTREAM_KAFKA_CONTROLLER_PORT: String(KAFKA_PORT + 1),
        HOOKSTREAM_KAFKA_HEAP: '512m',
      },
    });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`scripts/infra.sh ${command} (own broker) exited ${code}`)),
    );
  });
}

/**
 * A fresh broker of this run's own. Its jars are fetched by scripts/infra.sh into its own dir (from
 * the local Maven cache after the first time); never a link to the shared broker's, which
 * infra.sh would delete and fetch again when this checkout's pom.xml is newer.
 */
async function prepareOwnBroker(): Promise<void> {
  rmSync(INFRA_DIR, { recursive: true, force: true });
  mkdirSync(join(INFRA_DIR, 'kafka'), { recursive: true });
  await ownBroker('kafka-start');
}

interface Arrival {
  id: string;
  tenant: string;
  seq: number;
}

async function main(): Promise<void> {
  await ensureServiceBuilt();
  ensurePublisherBuilt();
  if (OWN_BROKER) await prepareOwnBroker();
  let database: BenchDatabase | undefined;
  let service: Service | undefined;
  const relays: Array<ChildProcess | undefined> = [undefined, undefined];
  const receiver = await new Receiver().start();
  try {
    database = await createDatabase('hs_outbox_crash');
    const suffix = Math.random().toString(36).slice(2, 8);
    const inputTopic = `platform.events.outbox-crash-${suffix}`;
    const kafka = new Kafka({ clientId: 'outbox-crash', brokers: BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: inputTopic, numPartitions: 3 }] });
    await admin.disconnect();
    service = await startService(
      {
        KAFKA_BROKERS: BROKERS.join(','),
        DATABASE_URL: database.url,
        HOOKSTREAM_TOPIC_NAMESPACE: `outbox-crash-${suffix}`,
        HOOKSTREAM_INPUT_TOPICS: inputTopic,
        HOOKSTREAM_RETRY_DELAYS: '1s,2s,4s,8s,15s,30s,60s,120s,240s',
        HOOKSTREAM_CIRCUIT_OPEN_FOR: '5s',
      },
      { label: 'outbox-crash-service', readyTimeoutMs: 120_000 },
    );
    const api = new Api(service.url);
    const tenants: string[] = [];
    for (let i = 0; i < CONFIG.tenants; i++) {
      const tenant = await api.createTenant(`outbox-crash-${i}`);
      await tenant.api.createEndpoint({
        url: receiver.url(`/t/${i}`),
        eventTypes: ['record.*'],
        ordering: 'strict',
      });
      tenants.push(tenant.id);
    }
    const arrivals: Arrival[] = [];
    receiver.setHandler((delivery) => {
      const body = JSON.parse(delivery.body) as { data: { seq: number }; id?: string };
      const tenant = tenants[Number(delivery.path.split('/')[2])];
      arrivals.push({ id: delivery.webhookId, tenant, seq: body.data.seq });
      return 204;
    });

    const table = 'crash_platform.outbox';
    const platform = new PlatformService(database.url, table, inputTopic, CONFIG.tenants + 2);
    await platform.migrate();
    const relayEnv = {
      OUTBOX_DATABASE_URL: database.url,
      KAFKA_BROKERS: BROKERS.join(','),
      OUTBOX_TABLE: table,
      OUTBOX_TOPIC: inputTopic,
      OUTBOX_BATCH_SIZE: '200',
    };
    relays[0] = spawnRelay(relayEnv);
    relays[1] = spawnRelay(relayEnv);

    // Writers: one per tenant (its updates commit in order), all tenants at once.
    const committed = new Map<string, { tenant: string; seq: number }>();
    const rolledBack = new Set<string>();
    let done = 0;
    const perTenant = Math.ceil(CONFIG.records / CONFIG.tenants);
    const writer = async (t: number) => {
      for (let seq = 0; seq < perTenant && t * perTenant + seq < CONFIG.records; seq++) {
        const rollback = (seq + 1) % CONFIG.rollbackEvery === 0;
        const id = await platform.update(
          tenants[t],
          `rec-${t}-${seq % CONFIG.recordsPerTenant}`,
          seq,
          rollback,
        );
        if (rollback) rolledBack.add(id);
        else committed.set(id, { tenant: tenants[t], seq });
        done++;
      }
    };
    const faults: Array<{ at: number; what: string }> = [
      ...Array.from({ length: CONFIG.relayKills }, (_, k) => ({
        at: (k + 1) / (CONFIG.relayKills + 1.5),
        what: `kill relay ${k % 2}`,
      })),
      ...(CONFIG.brokerRestart ? [{ at: 0.55, what: 'restart broker' }] : []),
    ].sort((a, b) => a.at - b.at);
    const faultLog: Array<{ fault: string; atRecords: number; tookS: number }> = [];
    const injector = (async () => {
      for (const fault of faults) {
        while (done < fault.at * CONFIG.records) await sleep(50);
        const started = Date.now();
        if (fault.what.startsWith('kill relay')) {
          const index = Number(fault.what.slice(-1));
          relays[index]?.kill('SIGKILL');
          log(`SIGKILL relay ${index} (pid ${relays[index]?.pid}) at ${done} records`);
          await sleep(1_000);
          relays[index] = spawnRelay(relayEnv);
        } else {
          log(`restarting the run's own broker at ${done} records`);
          await ownBroker('kafka-restart');
        }
        faultLog.push({ fault: fault.what, atRecords: done, tookS: (Date.now() - started) / 1000 });
      }
    })();
    const writeStart = Date.now();
    await Promise.all(tenants.map((_, t) => writer(t)));
    const writeS = (Date.now() - writeStart) / 1000;
    await injector;
    log(
      `wrote ${done} transactions (${committed.size} committed, ${rolledBack.size} rolled back) in ${writeS.toFixed(1)} s`,
    );

    const drainStart = Date.now();
    const deliveredIds = () => new Set(arrivals.map((a) => a.id));
    while (Date.now() - drainStart < CONFIG.drainTimeoutMs) {
      const have = deliveredIds();
      if ([...committed.keys()].every((id) => have.has(id))) break;
      await sleep(500);
    }
    // A little longer: a rolled-back event or a late duplicate would show up now.
    await sleep(3_000);
    const have = deliveredIds();
    const lost = [...committed.keys()].filter((id) => !have.has(id));
    const deliveredRolledBack = [...rolledBack].filter((id) => have.has(id));
    const firstSeqs = new Map<string, number[]>();
    const seen = new Set<string>();
    for (const arrival of arrivals) {
      if (seen.has(arrival.id)) continue;
      seen.add(arrival.id);
      firstSeqs.set(arrival.tenant, [...(firstSeqs.get(arrival.tenant) ?? []), arrival.seq]);
    }
    let orderViolations = 0;
    for (const seqs of firstSeqs.values())
      for (let i = 1; i < seqs.length; i++) if (seqs[i] < seqs[i - 1]) orderViolations++;
    const report = {
      at: new Date().toISOString(),
      smoke: SMOKE,
      config: { ...CONFIG, ownBroker: OWN_BROKER, relays: 2 },
      transactions: done,
      committed: committed.size,
      rolledBack: rolledBack.size,
      delivered: { total: arrivals.length, unique: have.size },
      lost: lost.length,
      deliveredRolledBack: deliveredRolledBack.length,
      duplicates: arrivals.length - have.size,
      orderViolations,
      outboxUnsentAtEnd: await platform.unsent(),
      writeSeconds: writeS,
      drainSeconds: (Date.now() - drainStart) / 1000,
      faults: faultLog,
      lostSample: lost.slice(0, 10),
    };
    await platform.pool.end();
    const file = SMOKE ? 'outbox-crash-smoke.json' : 'outbox-crash-latest.json';
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', file), `${JSON.stringify(report, null, 2)}\n`);
    log(
      `lost ${report.lost}, delivered though rolled back ${report.deliveredRolledBack}, order violations ${orderViolations}, duplicates ${report.duplicates}; wrote bench/results/${file}`,
    );
    if (report.lost > 0 || report.deliveredRolledBack > 0 || orderViolations > 0) process.exitCode = 1;
  } finally {
    for (const relay of relays) relay?.kill('SIGKILL');
    await service?.stop().catch(() => undefined);
    await receiver.stop();
    await database?.drop().catch(() => undefined);
    if (OWN_BROKER) {
      try {
        await ownBroker('kafka-stop');
      } finally {
        rmSync(INFRA_DIR, { recursive: true, force: true });
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
