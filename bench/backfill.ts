/**
 * `npm run bench:backfill`: the backfill phase alone (bench/lib/backfill.ts) on a service of its own,
 * configured as `npm run bench` configures its service; writes bench/results/backfill-latest.json
 * (BENCH_QUICK=1: backfill-smoke.json). BENCH_BACKFILL_EVENTS sets the number of events.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Producer } from 'kafkajs';
import { Api } from './lib/api';
import { backfillPhase } from './lib/backfill';
import { CONFIG, kafka, num, QUICK } from './lib/config';
import { createDatabase, type BenchDatabase } from './lib/db';
import { connectedProducer, deleteNamespaceTopics, uniqueNamespace } from './lib/kafka';
import { NOISY_NEIGHBOUR_LIMITS } from './lib/noisy-neighbour';
import { log } from './lib/phases';
import { Receiver } from './lib/receiver';
import { ensureServiceBuilt, ROOT, startService, type Service } from './lib/service';
import { machineInfo, round } from './lib/stats';

async function main(): Promise<void> {
  const started = Date.now();
  await ensureServiceBuilt();
  const receiver = await new Receiver().start();
  const namespace = uniqueNamespace(QUICK ? 'backfill-smoke' : 'backfill');
  const inputTopic = `${namespace}.input`;
  let database: BenchDatabase | undefined;
  let service: Service | undefined;
  let producer: Producer | undefined;
  try {
    database = await createDatabase('hs_backfill');
    service = await startService(
      {
        DATABASE_URL: database.url,
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: inputTopic,
        HOOKSTREAM_INPUT_PARTITIONS: String(CONFIG.tenants),
        HOOKSTREAM_DELIVERY_PARTITIONS: String(CONFIG.deliveryPartitions),
        HOOKSTREAM_RETRY_DELAYS: '1s,2s,5s',
        ...NOISY_NEIGHBOUR_LIMITS,
      },
      { label: 'bench-backfill' },
    );
    producer = await connectedProducer(kafka);
    const backfill = await backfillPhase({
      admin: new Api(service.url),
      servicePid: service.pid,
      producer,
      topic: inputTopic,
      receiver,
      drainTimeoutMs: num('BENCH_BACKFILL_TIMEOUT_S', 3_600, 120) * 1000,
    });
    const results = {
      backfill,
      serviceLifetimePeakRssMb: round(service.peakRssMb(), 1),
      machine: machineInfo(ROOT),
      durationS: round((Date.now() - started) / 1000, 0),
    };
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const name = QUICK ? 'backfill-smoke' : 'backfill-latest';
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    console.log(JSON.stringify(results, null, 2));
    log(`wrote bench/results/${name}.json`);
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await service?.stop();
    await receiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic]);
    await database?.drop().catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
