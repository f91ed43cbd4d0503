/**
 * The event catalogue's bench phase alone (bench/lib/catalogue.ts), on a service set up as
 * `npm run bench` sets it up: its figures without the hour of the full run. Prints the phase's
 * result as JSON; writes nothing under bench/results.
 *
 *   tsc -p bench/tsconfig.json && node dist-bench/catalogue.js      (BENCH_QUICK=1 for a smoke run)
 */
import type { Producer } from 'kafkajs';
import { Api } from './lib/api';
import { cataloguePhase } from './lib/catalogue';
import { CONFIG, kafka, QUICK } from './lib/config';
import { createDatabase, type BenchDatabase } from './lib/db';
import { connectedProducer, deleteNamespaceTopics, uniqueNamespace } from './lib/kafka';
import { NOISY_NEIGHBOUR_LIMITS } from './lib/noisy-neighbour';
import { createTenants, log, warmUp, watchServices } from './lib/phases';
import { Receiver } from './lib/receiver';
import { ensureServiceBuilt, startService, type Service } from './lib/service';

async function main(): Promise<void> {
  await ensureServiceBuilt();
  const receiver = await new Receiver().start();
  const namespace = uniqueNamespace(QUICK ? 'cat-smoke' : 'cat');
  const inputTopic = `${namespace}.input`;
  let database: BenchDatabase | undefined;
  let service: Service | undefined;
  let producer: Producer | undefined;
  try {
    database = await createDatabase('hs_bench_cat');
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
      { label: 'bench-catalogue' },
    );
    watchServices([service]);
    const admin = new Api(service.url);
    const tenants = await createTenants(admin, receiver);
    producer = await connectedProducer(kafka);
    await warmUp(producer, inputTopic, tenants, receiver);
    const result = await cataloguePhase({
      admin,
      serviceUrl: service.url,
      producer,
      topic: inputTopic,
      tenants,
      receiver,
    });
    console.log(JSON.stringify({ catalogue: result, peakRssMb: service.peakRssMb() }, null, 2));
    log('done');
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
  process.exit(1);
});
