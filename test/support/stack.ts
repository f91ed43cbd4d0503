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

/** Short retry tiers and a circuit that never opens, so attempts are counted rather than postponed. */
export const COUNTED_ATTEMPTS: Readonly<Record<string, string>> = {
  HOOKSTREAM_RETRY_DELAYS: '500ms,1s',
  HOOKSTREAM_CIRCUIT_FAILURE_THRESHOLD: '1000',
};

/**
 * One test's world: its own topic namespace, database, receiver and producer. The real service
 * (a child process) is booted on it, and can be stopped, killed or rebooted with extra env while
 * the world stays, as a restart in production keeps its topics and database.
 */
export class Stack {
  readonly inputTopic: string;
  readonly dlqTopic: string;
  readonly deliveriesTopic: string;
  private running?: RunningService;
  private client?: ApiClient;
  /** Services booted beside the first with `bootReplica`: more replicas of Hookstream on this world. */
  readonly replicas: RunningService[] = [];

  constructor(
    readonly namespace: string,
    /** What every boot starts from; `boot` adds its extra env on top. */
    readonly env: Record<string, string>,
    readonly database: TestDatabase,
    readonly receiver: TestReceiver,
    readonly producer: Producer,
  ) {
    this.inputTopic = `${namespace}.input`;
    this.dlqTopic = `${namespace}.dlq`;
    this.deliveriesTopic = `${namespace}.deliveries`;
  }

  /** The service booted last (it may since have been stopped or killed). */
  get service(): RunningService {
    if (!this.running) throw new Error(`no service has been booted on ${this.namespace}`);
    return this.running;
  }

  /** An admin client of the service booted last. */
  get api(): ApiClient {
    if (!this.client) throw new Error(`no service has been booted on ${this.namespace}`);
    return this.client;
  }

  /** Stops the running service, if any, and boots another on this world with `extra` env. */
  async boot(label: string, extra: Record<string, string> = {}): Promise<ApiClient> {
    await this.running?.stop();
    this.running = await startService({ ...this.env, ...extra }, { label });
    this.client = new ApiClient(this.running.url);
    return this.client;
  }

  /**
   * Boots one more replica on this world, beside the running service (same database, topics and
   * consumer groups), with `extra` env; an admin client of it is returned.
   */
  async bootReplica(label: string, extra: Record<string, string> = {}): Promise<ApiClient> {
    const replica = await startService({ ...this.env, ...extra }, { label });
    this.replicas.push(replica);
    return new ApiClient(replica.url);
  }

  /** Stops the service and removes the world: producer, receiver, topics and database. */
  async stop(): Promise<void> {
    await Promise.all(this.replicas.splice(0).map((replica) => replica.stop()));
    await this.running?.stop();
    await this.producer.disconnect();
    await this.receiver.stop();
    const admin = await connectedAdmin(kafka);
    await deleteNamespaceTopics(admin, this.namespace, [this.inputTopic]);
    await admin.disconnect();
    await this.database.drop();
  }
}

/**
 * Creates a world with no service on it yet. `env` overrides or adds to the service's env here
 * (its own database and topics, two input and two delivery partitions); the service's own
 * defaults apply to everything else.
 */
export async function createStack(label: string, env: Record<string, string> = {}): Promise<Stack> {
  const namespace = uniqueNamespace(label);
  const database = await createTestDatabase();
  const receiver = await new TestReceiver().start();
  let producer: Producer;
  try {
    producer = await connectedProducer(kafka);
  } catch (error) {
    // Leave nothing open behind a failed start, or jest never exits.
    await receiver.stop();
    await database.drop();
    throw error;
  }
  return new Stack(
    namespace,
    {
      DATABASE_URL: database.url,
      HOOKSTREAM_TOPIC_NAMESPACE: namespace,
      HOOKSTREAM_INPUT_TOPICS: `${namespace}.input`,
      HOOKSTREAM_INPUT_PARTITIONS: '2',
      HOOKSTREAM_DELIVERY_PARTITIONS: '2',
      ...env,
    },
    database,
    receiver,
    producer,
  );
}

/** Creates a world (see `createStack`) and boots the service on it, labelled `label`. */
export async function startStack(label: string, env: Record<string, string> = {}): Promise<Stack> {
  const stack = await createStack(label, env);
  try {
    await stack.boot(label);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

/** Removes a stack; a no-op when its beforeAll failed before there was one. */
export async function stopStack(stack: Stack | undefined): Promise<void> {
  await stack?.stop();
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
