/**
 * Hookstream against the project's broker run with SASL/SCRAM and ACLs (HOOKSTREAM_KAFKA_SASL=1,
 * scripts/infra.sh, infra/kafka/sasl.properties and acls.mjs) on a port of its own, started here
 * and stopped after: Hookstream connects with its credentials and delivers; a producer without
 * credentials, or with a wrong password, is refused; the platform principal cannot write tasks.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { ApiClient } from '../support/api';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { TestReceiver } from '../support/receiver';
import { startService, type RunningService } from '../support/service';
import { structuredEvent } from '../support/stack';
import { uniqueNamespace } from '../support/kafka';
import { waitFor } from '../support/wait';

const ROOT = join(__dirname, '..', '..');
// Below Linux's ephemeral range (32768-60999): an outgoing connection's local port once took the
// controller port (PORT + 1) of 49092 from under the broker as it started (BindException in CI).
const PORT = Number(process.env.HOOKSTREAM_SASL_TEST_PORT ?? 19092);
const BROKER = `127.0.0.1:${PORT}`;
/** The development passwords scripts/infra.sh gives its SCRAM users. */
const PASSWORDS = { admin: 'admin-secret', hookstream: 'hookstream-secret', platform: 'platform-secret' };

const namespace = uniqueNamespace('sasl');
const inputTopic = `${namespace}.input`;
const infraDir = mkdtempSync(join(tmpdir(), 'hs-sasl-broker-'));
/** Jars fetched by an earlier `infra:up` are reused; without them the script fetches its own. */
const libs =
  process.env.HOOKSTREAM_KAFKA_LIBS ??
  (existsSync(join(ROOT, '.infra/kafka/libs/.complete')) ? join(ROOT, '.infra/kafka/libs') : undefined);
const infraEnv = {
  ...process.env,
  HOOKSTREAM_INFRA_DIR: infraDir,
  HOOKSTREAM_KAFKA_SASL: '1',
  HOOKSTREAM_KAFKA_PORT: String(PORT),
  HOOKSTREAM_KAFKA_CONTROLLER_PORT: String(PORT + 1),
  HOOKSTREAM_KAFKA_HEAP: '384m',
  HOOKSTREAM_TOPIC_NAMESPACE: namespace,
  HOOKSTREAM_INPUT_TOPICS: inputTopic,
  ...(libs && { HOOKSTREAM_KAFKA_LIBS: libs }),
};

const infra = (command: string) =>
  promisify(execFile)('bash', [join(ROOT, 'scripts/infra.sh'), command], {
    env: infraEnv,
    timeout: 300_000,
  });

/** A client of the SASL broker that gives up at once, so a refusal is an answer and not a wait. */
const client = (sasl?: SASLOptions) =>
  new Kafka({
    clientId: 'sasl-test',
    brokers: [BROKER],
    ...(sasl && { sasl }),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 0 },
  });
/**
 * A fresh object per client: kafkajs stores its SCRAM provider, password captured, on the options
 * object it is given, so a spread copy with another password would still authenticate.
 */
const platform = (password = PASSWORDS.platform): SASLOptions => ({
  mechanism: 'scram-sha-512',
  username: 'platform',
  password,
});

/** Resolves with the error a producer's connect-and-send ends in, or null if it was accepted. */
async function sendRefusal(kafka: Kafka, topic: string, key: string, value: string): Promise<Error | null> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: [{ key, value }] });
    return null;
  } catch (error) {
    return error as Error;
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
}

const portInUse = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('Kafka with SASL/SCRAM and ACLs', () => {
  let database: TestDatabase | undefined;
  let receiver: TestReceiver | undefined;
  let service: RunningService | undefined;
  let brokerStarted = false;

  beforeAll(async () => {
    // infra.sh would reuse whatever listens there: a broker left over must not pass for ours.
    for (const port of [PORT, PORT + 1]) {
      if (await portInUse(port)) throw new Error(`port ${port} is taken; set HOOKSTREAM_SASL_TEST_PORT`);
    }
    brokerStarted = true;
    await infra('kafka-start');
    database = await createTestDatabase();
    receiver = await new TestReceiver().start();
    const passwordFile = join(infraDir, 'hookstream.password');
    writeFileSync(passwordFile, `${PASSWORDS.hookstream}\n`);
    service = await startService(
      {
        KAFKA_BROKERS: BROKER,
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        KAFKA_SASL_USERNAME: 'hookstream',
        KAFKA_SASL_PASSWORD_FILE: passwordFile,
        DATABASE_URL: database.url,
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: inputTopic,
        HOOKSTREAM_INPUT_PARTITIONS: '2',
        HOOKSTREAM_DELIVERY_PARTITIONS: '2',
      },
      { label: 'sasl', readyTimeoutMs: 120_000 },
    );
  });

  afterAll(async () => {
    await service?.stop();
    await receiver?.stop();
    await database?.drop();
    if (brokerStarted) await infra('kafka-stop').catch(() => undefined);
    rmSync(infraDir, { recursive: true, force: true });
  });

  it('Hookstream connects with its SCRAM credentials and delivers what the platform principal publishes', async () => {
    const api = new ApiClient(service!.url);
    const tenant = await api.createTenant('sasl tenant');
    await tenant.client.ok('POST', '/v1/endpoints', { url: receiver!.url('/sasl') });
    const published: string[] = [];
    // The endpoint reaches the fan-out's cache by NOTIFY: publish until a delivery arrives.
    await waitFor(
      async () => {
        const { id, message } = structuredEvent(tenant.id, 'record.updated', { n: published.length });
        const refused = await sendRefusal(client(platform()), inputTopic, message.key, message.value);
        if (refused) throw refused;
        published.push(id);
        return receiver!.on('/sasl').length > 0;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 1_000,
        what: 'a delivery of an event the platform principal published',
      },
    );
    expect(published).toContain(receiver!.on('/sasl')[0].headers['webhook-id']);
  });

  it('refuses a producer without credentials, and one with a wrong password', async () => {
    const event = structuredEvent(randomUUID(), 'record.updated', {});
    const anonymous = await sendRefusal(client(), inputTopic, event.message.key, event.message.value);
    // The broker closes a connection that speaks before authenticating.
    expect(anonymous?.message).toMatch(/closed connection/i);
    const wrongPassword = await sendRefusal(
      client(platform('not-the-password')),
      inputTopic,
      event.message.key,
      event.message.value,
    );
    expect(wrongPassword?.name).toBe('KafkaJSSASLAuthenticationError');
  });

  it("denies the platform principal Hookstream's own topics: it cannot write a delivery task", async () => {
    const refused = await sendRefusal(client(platform()), `${namespace}.deliveries`, 'endpoint', '{}');
    expect(refused?.message).toMatch(/not authorized/i);
  });
});
