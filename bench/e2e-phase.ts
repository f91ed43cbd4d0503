/**
 * `npm run bench:e2e`: the e2e phase of bench.ts alone (produce -> 2xx at the receiver, fan-out 1),
 * BENCH_E2E_ROUNDS times (3; 1 with BENCH_QUICK=1) on one service, each of BENCH_E2E_EVENTS events.
 * For before/after comparisons of one change on the hot path (README Section B, the cost of the
 * delivery task MAC): run it on both builds under `flock -x /tmp/hookstream-run.lock`, alternating.
 * Prints one JSON line with each round's deliveries/s and the service's CPU share; writes nothing.
 */
import type { Producer } from 'kafkajs';
import { Api } from './lib/api';
import { CONFIG, kafka, num, QUICK } from './lib/config';
import { CpuMeter } from './lib/cpu';
import { createDatabase, type BenchDatabase } from './lib/db';
import { connectedProducer, deleteNamespaceTopics, uniqueNamespace } from './lib/kafka';
import { createTenants, e2eRun, killWatchedServices, log, warmUp, watchServices } from './lib/phases';
import { Receiver } from './lib/receiver';
import { ensureServiceBuilt, startService, type Service } from './lib/service';
import { round } from './lib/stats';

const ROUNDS = num('BENCH_E2E_ROUNDS', 3, 1);

async function main(): Promise<void> {
  await ensureServiceBuilt();
  const receiver = await new Receiver().start();
  const namespace = uniqueNamespace(QUICK ? 'e2e-smoke' : 'e2e');
  const inputTopic = `${namespace}.input`;
  let database: BenchDatabase | undefined;
  let service: Service | undefined;
  let producer: Producer | undefined;
  try {
    database = await createDatabase('hs_bench_e2e');
    // The same service settings as bench.ts's e2e phase.
    service = await startService(
      {
        DATABASE_URL: database.url,
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: inputTopic,
        HOOKSTREAM_INPUT_PARTITIONS: String(CONFIG.tenants),
        HOOKSTREAM_DELIVERY_PARTITIONS: String(CONFIG.deliveryPartitions),
        HOOKSTREAM_RETRY_DELAYS: '1s,2s,5s',
      },
      { label: 'bench-e2e-service' },
    );
    watchServices([service]);
    const tenants = await createTenants(new Api(service.url), receiver);
    producer = await connectedProducer(kafka);
    await warmUp(producer, inputTopic, tenants, receiver);
    const rounds: Array<{ deliveriesPerSec: number; serviceCpu: number | null }> = [];
    for (let index = 0; index < ROUNDS; index++) {
      const servicePid = service.pid;
      const meter = CpuMeter.start(() => [servicePid]);
      const deliveriesPerSec = await e2eRun(producer, inputTopic, tenants, receiver, 'f1', CONFIG.e2eEvents);
      const cpu = meter?.stop() ?? null;
      rounds.push({
        deliveriesPerSec: round(deliveriesPerSec, 0),
        serviceCpu: cpu ? round(cpu.service, 3) : null,
      });
      log(`e2e round ${index + 1}: ${round(deliveriesPerSec, 0)} deliveries/s`);
    }
    console.log(JSON.stringify({ events: CONFIG.e2eEvents, rounds }));
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await service?.stop();
    await receiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic]).catch(() => undefined);
    await database?.drop().catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  killWatchedServices();
  process.exit(1);
});
