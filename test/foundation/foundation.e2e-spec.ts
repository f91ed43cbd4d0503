import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/database';
import {
  collectTopic,
  connectedAdmin,
  connectedProducer,
  deleteNamespaceTopics,
  testKafka,
  uniqueNamespace,
} from '../support/kafka';
import { runServiceExpectingFailure, startService, type RunningService } from '../support/service';
import { waitFor } from '../support/wait';
import { TenantEntity } from '../../src/tenants/tenant.entity';

describe('foundation: the service on the real broker and PostgreSQL', () => {
  const kafka = testKafka();
  const namespace = uniqueNamespace('foundation');
  const inputTopic = `${namespace}.input`;
  let database: TestDatabase;
  let service: RunningService;

  beforeAll(async () => {
    database = await createTestDatabase();
    service = await startService(
      {
        DATABASE_URL: database.url,
        HOOKSTREAM_TOPIC_NAMESPACE: namespace,
        HOOKSTREAM_INPUT_TOPICS: inputTopic,
        HOOKSTREAM_INPUT_PARTITIONS: '3',
        HOOKSTREAM_DELIVERY_PARTITIONS: '4',
        HOOKSTREAM_RETRY_DELAYS: '1s,5s',
      },
      { label: 'foundation' },
    );
  });

  afterAll(async () => {
    // Graceful shutdown on SIGTERM exits 0 (consumers stopped, offsets committed, connections closed).
    expect(await service?.stop()).toBe(0);
    const admin = await connectedAdmin(kafka);
    await deleteNamespaceTopics(admin, namespace, [inputTopic]);
    await admin.disconnect();
    await database?.drop();
  });

  it('answers /healthz and reports Kafka and PostgreSQL up on /readyz', async () => {
    const health = await fetch(`${service.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { info: Record<string, { status: string }> };
    expect(body.info.postgres.status).toBe('up');
    expect(body.info.kafka.status).toBe('up');
  });

  it('creates its topics at startup with the configured partition counts', async () => {
    const admin = await connectedAdmin(kafka);
    try {
      const metadata = await admin.fetchTopicMetadata({
        topics: [
          inputTopic,
          `${namespace}.deliveries`,
          `${namespace}.retry.1.1s`,
          `${namespace}.retry.2.5s`,
          `${namespace}.dlq`,
        ],
      });
      const partitions = Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]));
      expect(partitions).toEqual({
        [inputTopic]: 3,
        [`${namespace}.deliveries`]: 4,
        [`${namespace}.retry.1.1s`]: 4,
        [`${namespace}.retry.2.5s`]: 4,
        [`${namespace}.dlq`]: 4,
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('produces to and consumes from the real broker with kafkajs', async () => {
    const topic = `${namespace}.roundtrip`;
    const admin = await connectedAdmin(kafka);
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = await connectedProducer(kafka);
    const ids = Array.from({ length: 20 }, () => randomUUID());
    await producer.send({ topic, acks: -1, messages: ids.map((id) => ({ key: id, value: id })) });
    await producer.disconnect();
    const collected = await collectTopic(kafka, topic);
    try {
      await waitFor(() => collected.messages.length >= ids.length, {
        what: `${ids.length} messages on ${topic}`,
      });
      expect(collected.messages.map((m) => m.value).sort()).toEqual([...ids].sort());
    } finally {
      await collected.stop();
    }
  });

  it('reads and writes PostgreSQL through the service TypeORM setup and migrations', async () => {
    const dataSource = await database.connect();
    const tenants = dataSource.getRepository(TenantEntity);
    const id = randomUUID();
    await tenants.insert({ id, name: 'Acme' });
    const row = await tenants.findOneByOrFail({ id });
    expect(row.name).toBe('Acme');
    expect(row.createdAt).toBeInstanceOf(Date);
    const applied = await dataSource.query<Array<{ name: string }>>('SELECT name FROM migrations');
    expect(applied.map((m) => m.name)).toContain('InitialSchema1764536400000');
  });

  it('serves the OpenAPI document', async () => {
    const response = await fetch(`${service.url}/docs-json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.paths)).toContain('/readyz');
  });

  it('serves Swagger UI over it: the page and every script and style it loads', async () => {
    const page = await fetch(`${service.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toHaveLength(4);
    for (const asset of assets) {
      const response = await fetch(`${service.url}${asset}`);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    expect(await (await fetch(`${service.url}/docs/assets/init.js`)).text()).toContain("url: '/docs-json'");
  });
});

describe('foundation: startup with a bad environment fails fast and names the problem', () => {
  const base = {
    HOOKSTREAM_ADMIN_TOKEN: 'test-admin-token-0123456789',
    HOOKSTREAM_SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789',
  };

  it('refuses PORT=abc', async () => {
    const { code, output } = await runServiceExpectingFailure({ ...base, PORT: 'abc' });
    expect(code).toBe(78);
    expect(output).toContain('PORT: "abc" is not a whole number');
  });

  it('names every missing required variable', async () => {
    const { code, output } = await runServiceExpectingFailure({ PORT: '0' });
    expect(code).toBe(78);
    expect(output).toContain('HOOKSTREAM_ADMIN_TOKEN is required');
    expect(output).toContain('HOOKSTREAM_SECRET_KEY is required');
  });

  it('refuses a malformed duration and CIDR list', async () => {
    const { output } = await runServiceExpectingFailure({
      ...base,
      HOOKSTREAM_RETRY_DELAYS: '5s,soon',
      HOOKSTREAM_EGRESS_ALLOWLIST: '127.0.0.0/33',
    });
    expect(output).toContain('HOOKSTREAM_RETRY_DELAYS: "soon" is not a duration');
    expect(output).toContain('HOOKSTREAM_EGRESS_ALLOWLIST');
  });

  it('exits with a message naming KAFKA_BROKERS when the broker is unreachable', async () => {
    const database = await createTestDatabase();
    try {
      const { code, output } = await runServiceExpectingFailure({
        ...base,
        PORT: '0',
        DATABASE_URL: database.url,
        KAFKA_BROKERS: '127.0.0.1:1',
        KAFKA_CONNECT_TIMEOUT: '1s',
      });
      expect(code).toBe(1);
      expect(output).toContain('Kafka unreachable at 127.0.0.1:1 (KAFKA_BROKERS)');
    } finally {
      await database.drop();
    }
  });
});
