/**
 * The setup every single-phase runner (bench/backfill.ts, catalogue.ts, e2e-phase.ts, noisy.ts)
 * shares: a receiver, a database, one service configured as `npm run bench` configures its own (one
 * input partition per tenant, the bench's delivery partitions and retry delays), a connected
 * producer, and their teardown whatever the phase did. BENCH_NODE_ARGS adds node flags to the
 * service's (`--trace-gc`, `--cpu-prof`, `-r <file>`), whichever runner starts it; BENCH_SERVICE_ENV
 * (space-separated `NAME=value`) sets the service's own settings on top of the phase's, to measure
 * one setting against its default.
 */
import type { Producer } from 'kafkajs';
import { CONFIG, kafka } from './config';
import { createDatabase, type BenchDatabase } from './db';
import { connectedProducer, deleteNamespaceTopics, uniqueNamespace } from './kafka';
import { Receiver } from './receiver';
import { ensureServiceBuilt, startService, type Service } from './service';

export interface PhaseService {
  receiver: Receiver;
  inputTopic: string;
  database: BenchDatabase;
  service: Service;
  producer: Producer;
}

export async function withPhaseService<T>(
  options: {
    /** Prefix of the run's topic namespace. */
    namespace: string;
    /** Prefix of the run's database name. */
    database: string;
    label: string;
    /** Settings on top of the bench's own. */
    env?: Record<string, string>;
    /** Node flags for the service; BENCH_NODE_ARGS (space-separated) adds to them in every runner. */
    nodeArgs?: string[];
    /** Another build of the service to run (an older commit's `dist`), for before/after runs. */
    distDir?: string;
  },
  run: (stack: PhaseService) => Promise<T>,
): Promise<T> {
  // A given build is run as it is: building ./dist would only cost time (and race an edit).
  if (!options.distDir) await ensureServiceBuilt();
  const receiver = await new Receiver().start();
  const namespace = uniqueNamespace(options.namespace);
  const inputTopic = `${namespace}.input`;
  let database: BenchDatabase | undefined;
  let service: Service | undefined;
  let producer: Producer | undefined;
  try {
    database = await createDatabase(options.database);
    service = await startService(
      {
        DATABASE_URL: database.url,
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: inputTopic,
        // As in bench.ts: one input partition per tenant.
        HOOKSTREAM_INPUT_PARTITIONS: String(CONFIG.tenants),
        HOOKSTREAM_DELIVERY_PARTITIONS: String(CONFIG.deliveryPartitions),
        HOOKSTREAM_RETRY_DELAYS: '1s,2s,5s',
        ...options.env,
        ...serviceEnvFromBench(process.env.BENCH_SERVICE_ENV),
      },
      {
        label: options.label,
        nodeArgs: [
          ...(options.nodeArgs ?? []),
          ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
        ],
        ...(options.distDir ? { distDir: options.distDir } : {}),
      },
    );
    producer = await connectedProducer(kafka);
    return await run({ receiver, inputTopic, database, service, producer });
  } finally {
    await producer?.disconnect().catch(() => undefined);
    await service?.stop();
    await receiver.stop();
    await deleteNamespaceTopics(kafka, namespace, [inputTopic]).catch(() => undefined);
    await database?.drop().catch(() => undefined);
  }
}

/** `NAME=value NAME=value` (BENCH_SERVICE_ENV) as settings; a word without `=` is refused. */
function serviceEnvFromBench(text: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of (text ?? '').split(' ').filter(Boolean)) {
    const equals = word.indexOf('=');
    if (equals <= 0) throw new Error(`BENCH_SERVICE_ENV: "${word}" is not NAME=value`);
    env[word.slice(0, equals)] = word.slice(equals + 1);
  }
  return env;
}
