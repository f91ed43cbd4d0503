/**
 * `npm run bench:noisy`: the noisy-neighbour phase of `npm run bench` alone (bench/lib/
 * noisy-neighbour.ts), on the same service settings, so a change to isolation can be measured in
 * minutes instead of a full bench. Its BENCH_NN_* knobs size it; BENCH_PROFILE_DIR profiles the
 * service as in the bench; BENCH_NN_E2E=1 first runs the bench's e2e fan-out 1 phase on the same
 * service (its throughput must not drop for the sake of isolation). Prints the phase's result and the CPU shares of its runs as JSON and
 * writes nothing under bench/results (the committed figures come from the full bench).
 */
import type { Producer } from 'kafkajs';
import { Api } from './lib/api';
import { CONFIG } from './lib/config';
import { CpuMeter, type CpuShares } from './lib/cpu';
import { createDatabase } from './lib/db';
import { benchKafka, connectedProducer, deleteNamespaceTopics, uniqueNamespace } from './lib/kafka';
import { NOISY_NEIGHBOUR_LIMITS, noisyNeighbourPhase } from './lib/noisy-neighbour';
import { createTenants, e2eRun, log, warmUp } from './lib/phases';
import { summariseNewestProfile } from './lib/profile';
import { Receiver } from './lib/receiver';
import { ensureServiceBuilt, startService, type Service } from './lib/service';

async function main(): Promise<void> {
  await ensureServiceBuilt();
  const kafka = benchKafka();
  const receiver = await new Receiver().start();
  const namespace = uniqueNamespace('noisy');
  const inputTopic = `${namespace}.input`;
  const database = await createDatabase('hs_bench_noisy');
  let service: Service | undefined;
  let producer: Producer | undefined;
  const profileDir = process.env.BENCH_PROFILE_DIR;
  try {
    service = await startService(
      {
        DATABASE_URL: database.url,
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: inputTopic,
        // As in bench.ts: one input partition per tenant (the phase's noisy tenant publishes to 0).
        HOOKSTREAM_INPUT_PARTITIONS: String(CONFIG.tenants),
        HOOKSTREAM_DELIVERY_PARTITIONS: String(CONFIG.deliveryPartitions),
        HOOKSTREAM_RETRY_DELAYS: '1s,2s,5s',
        ...NOISY_NEIGHBOUR_LIMITS,
      },
      {
        label: 'noisy-service',
        nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
      },
    );
    producer = await connectedProducer(kafka);
    const cpu: Record<string, CpuShares | null> = {};
    const servicePid = service.pid;
    const admin = new Api(service.url);
    let e2eDeliveriesPerSec: number | null = null;
    if (process.env.BENCH_NN_E2E === '1') {
      const tenants = await createTenants(admin, receiver);
      await warmUp(producer, inputTopic, tenants, receiver);
      e2eDeliveriesPerSec = await e2eRun(producer, inputTopic, tenants, receiver, 'f1', CONFIG.e2eEvents);
      log(`e2e fan-out 1: ${Math.round(e2eDeliveriesPerSec)} deliveries/s`);
    }
    const result = await noisyNeighbourPhase({
      admin,
      serviceUrl: service.url,
      producer,
      topic: inputTopic,
      receiver,
      measured: async (phase, work) => {
        const meter = CpuMeter.start(() => [servicePid]);
        try {
          return await work();
        } finally {
          cpu[phase] = meter?.stop() ?? null;
        }
      },
    });
    console.log(
      JSON.stringify({ e2eDeliveriesPerSec, noisyNeighbour: result, cpuPercentOfOneCore: cpu }, null, 2),
    );
    log(
      `noisy neighbour: throughput ratio ${result.throughputRatio} (${result.quietWithNoisePerSec} / ${result.quietAlonePerSec} per s), p99 ratio ${result.p99Ratio} (${result.quietAloneP99Ms} / ${result.quietWithNoiseP99Ms} ms)`,
    );
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await service?.stop();
    await receiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic]);
    await database.drop().catch(() => undefined);
  }
  if (profileDir) {
    const summary = summariseNewestProfile(profileDir);
    console.log(JSON.stringify({ profile: summary }, null, 2));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
