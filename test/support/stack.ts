import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { ApiClient } from './api';
import { createTestDatabase, type TestDatabase } from './database';
import {
  connectedAdmin,
  connectedProducer,
  deleteNamespaceTopics,
  testKafka,
  uniqueNamespace,
} from './kafka';
import { TestReceiver } from './receiver';
import { startService, type RunningService } from './service';

export const kafka = testKafka();

/** The real service (child process), its own database, topics and receiver. */
export interface Stack {
  namespace: string;
  inputTopic: string;
  dlqTopic: string;
  deliveriesTopic: string;
  database: TestDatabase;
  service: RunningService;
  api: ApiClient;
  receiver: TestReceiver;
  producer: Producer;
}

/**
 * Starts a stack; `env` overrides the defaults (two partitions, short tiers, and a circuit that
 * never opens, so attempts are counted rather than postponed).
 */
export async function startStack(label: string, env: Record<string, string> = {}): Promise<Stack> {
  const namespace = uniqueNamespace(label);
  const inputTopic = `${namespace}.input`;
  const database = await createTestDatabase();
  const receiver = await new TestReceiver().start();
  let service: RunningService;
  try {
    service = await startService(
      {
        DATABASE_URL: database.url,
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: inputTopic,
        HOOKSTREAM_INPUT_PARTITIONS: '2',
        HOOKSTREAM_DELIVERY_PARTITIONS: '2',
        HOOKSTREAM_RETRY_DELAYS: '500ms,1s',
        HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '1000',
        ...env,
      },
      { label },
    );
  } catch (error) {
    // Leave nothing open behind a failed boot, or jest never exits.
    await receiver.stop();
    await database.drop();
    throw error;
  }
  const producer = await connectedProducer(kafka);
  return {
    namespace,
    inputTopic,
    dlqTopic: `${namespace}.dlq`,
    deliveriesTopic: `${namespace}.deliveries`,
    database,
    service,
    api: new ApiClient(service.url),
    receiver,
    producer,
  };
}

export async function stopStack(stack: Stack | undefined): Promise<void> {
  if (!stack) return;
  await stack.service.stop();
  await stack.producer.disconnect();
  await stack.receiver.stop();
  const admin = await connectedAdmin(kafka);
  await deleteNamespaceTopics(admin, stack.namespace, [stack.inputTopic]);
  await admin.disconnect();
  await stack.database.drop();
}

export function structuredEvent(tenantId: string, type: string, data: unknown, id = randomUUID()) {
  return {
    id,
    message: {
      key: tenantId,
      value: JSON.stringify({
        specversion: '1.0',
        id,
        source: '/tests',
        type,
        time: new Date().toISOString(),
        tenantid: tenantId,
        data,
      }),
    },
  };
}
