import type { Producer } from 'kafkajs';
import { ApiClient } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  connectedAdmin,
  connectedProducer,
  deleteNamespaceTopics,
  testKafka,
  uniqueNamespace,
} from '../support/kafka';
import { TestReceiver } from '../support/receiver';
import { startService, type RunningService } from '../support/service';

export const kafka = testKafka('hookstream-ops-test');

/** One test's world: its own topics, database and receiver; services come and go over it. */
export interface OpsStack {
  namespace: string;
  inputTopic: string;
  env: Record<string, string>;
  database: TestDatabase;
  receiver: TestReceiver;
  producer: Producer;
  service?: RunningService;
  api?: ApiClient;
  /** Stops the running service (if any) and boots another with extra env on the same world. */
  boot(label: string, env?: Record<string, string>): Promise<ApiClient>;
  stop(): Promise<void>;
}

export async function createOpsStack(label: string, env: Record<string, string> = {}): Promise<OpsStack> {
  const namespace = uniqueNamespace(label);
  const inputTopic = `${namespace}.input`;
  const database = await createTestDatabase();
  const receiver = await new TestReceiver().start();
  const producer = await connectedProducer(kafka);
  const stack: OpsStack = {
    namespace,
    inputTopic,
    env: {
      DATABASE_URL: database.url,
      HOOKSTREAM_TOPIC_NAMESPACE: namespace,
      HOOKSTREAM_INPUT_TOPICS: inputTopic,
      HOOKSTREAM_INPUT_PARTITIONS: '2',
      HOOKSTREAM_DELIVERY_PARTITIONS: '3',
      ...env,
    },
    database,
    receiver,
    producer,
    async boot(serviceLabel, extra = {}) {
      await stack.service?.stop();
      stack.service = await startService({ ...stack.env, ...extra }, { label: serviceLabel });
      stack.api = new ApiClient(stack.service.url);
      return stack.api;
    },
    async stop() {
      await stack.service?.stop();
      await producer.disconnect();
      await receiver.stop();
      const admin = await connectedAdmin(kafka);
      await deleteNamespaceTopics(admin, namespace, [inputTopic]);
      await admin.disconnect();
      await database.drop();
    },
  };
  return stack;
}

/** Sums the `kafka_consumergroup_lag` samples of one group in a Prometheus text exposition. */
export function lagFromMetrics(text: string, group: string): { total: number; series: number } {
  let total = 0;
  let series = 0;
  for (const line of text.split('\n')) {
    const match = /^kafka_consumergroup_lag\{([^}]*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as const),
    );
    if (labels.consumergroup !== group) continue;
    expect(Object.keys(labels).sort()).toEqual(['consumergroup', 'partition', 'topic']);
    total += Number(match[2]);
    series += 1;
  }
  return { total, series };
}
