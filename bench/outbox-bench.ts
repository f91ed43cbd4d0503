/**
 * `npm run bench:outbox`: only the bench's `outbox` phase (bench/lib/outbox.ts), on a Hookstream
 * of its own, for measuring it without the whole bench. BENCH_QUICK=1 for the tiny variant.
 * Prints the result and writes bench/results/outbox-phase.json (the full bench writes the same
 * figures under `outbox` in latest.json).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Api } from './lib/api';
import { kafka, QUICK } from './lib/config';
import { createDatabase } from './lib/db';
import { deleteNamespaceTopics, uniqueNamespace } from './lib/kafka';
import { outboxPhase } from './lib/outbox';
import { Receiver } from './lib/receiver';
import { ensureServiceBuilt, ROOT, startService } from './lib/service';
import { machineInfo } from './lib/stats';

async function main(): Promise<void> {
  await ensureServiceBuilt();
  const namespace = uniqueNamespace('outbox');
  const inputTopic = `${namespace}.input`;
  const sinkTopic = `${namespace}.outbox-sink`;
  const receiver = await new Receiver().start();
  const database = await createDatabase('hs_bench_outbox');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: inputTopic, numPartitions: 4 },
      { topic: sinkTopic, numPartitions: 3 },
    ],
  });
  await admin.disconnect();
  const service = await startService(
    {
      DATABASE_URL: database.url,
      HOOKSTREAM_TOPIC_NAMESPACE: namespace,
      HOOKSTREAM_INPUT_TOPICS: inputTopic,
      HOOKSTREAM_RETRY_DELAYS: '1s,2s,5s',
    },
    { label: 'bench-outbox-service' },
  );
  try {
    const result = await outboxPhase({
      admin: new Api(service.url),
      databaseUrl: database.url,
      inputTopic,
      sinkTopic,
      receiver,
    });
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(
      join(ROOT, 'bench', 'results', QUICK ? 'outbox-phase-smoke.json' : 'outbox-phase.json'),
      `${JSON.stringify({ at: new Date().toISOString(), outbox: result, machine: machineInfo(ROOT) }, null, 2)}\n`,
    );
  } finally {
    await service.stop();
    await receiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic, sinkTopic]);
    await database.drop().catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
