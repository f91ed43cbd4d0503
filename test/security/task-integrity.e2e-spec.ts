/**
 * Delivery tasks only Hookstream can mint (docs/security.md, "Delivery task integrity"): tasks
 * written by someone else straight to the deliveries topic, to a retry tier or as a held row are
 * dead-lettered as task_unauthenticated and the receiver gets nothing of them; a task sealed with
 * Hookstream's key, and an event through the input topic, still deliver.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { encodeTask, FIRST_ATTEMPT, type DeliveryTask } from '../../src/domain/delivery-task';
import { deriveTaskKeys, TaskSeal } from '../../src/domain/task-seal';
import { collectTopic, type ReceivedMessage } from '../support/kafka';
import { SECRET_KEY } from '../support/service';
import {
  COUNTED_ATTEMPTS,
  kafka,
  startStack,
  stopStack,
  structuredEvent,
  type Stack,
} from '../support/stack';
import { waitFor } from '../support/wait';

const FORGED = ['forged-no-mac', 'forged-other-key', 'forged-retry', 'forged-held'];

describe('delivery task integrity', () => {
  let stack: Stack | undefined;
  let dlq: { messages: ReceivedMessage[]; stop: () => Promise<void> } | undefined;
  let db: DataSource | undefined;

  beforeAll(async () => {
    stack = await startStack('taskmac', COUNTED_ATTEMPTS);
    dlq = await collectTopic(kafka, stack.dlqTopic);
    db = await stack.database.connect();
  });

  afterAll(async () => {
    await dlq?.stop();
    await stopStack(stack);
  });

  it('dead-letters forged tasks, sends none of them, and still delivers sealed ones', async () => {
    const s = stack!;
    const tenant = await s.api.createTenant('task mac');
    const endpoint = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: s.receiver.url('/mac'),
    });
    const task = (eventId: string): DeliveryTask => ({
      deliveryId: randomUUID(),
      eventId,
      endpointId: endpoint.id,
      tenantId: tenant.id,
      eventType: 'record.updated',
      eventTime: new Date().toISOString(),
      data: { forged: eventId.startsWith('forged') },
      publishedAtMs: Date.now(),
    });
    const hookstreams = new TaskSeal(deriveTaskKeys([SECRET_KEY]));
    const someoneElses = new TaskSeal(deriveTaskKeys(['not-hookstream-s-key-0123456789abcdef']));
    const key = endpoint.id;

    await s.producer.send({
      topic: s.deliveriesTopic,
      acks: -1,
      messages: [
        { key, value: encodeTask(task('forged-no-mac')) },
        { key, value: someoneElses.seal(task('forged-other-key')) },
        // Garbled: not a task at all. Dead-lettered as before; the consumer goes on.
        { key, value: Buffer.from('{"mac":"') },
        { key, value: hookstreams.seal(task('sealed-direct')) },
      ],
    });
    await s.producer.send({
      topic: `${s.namespace}.retry.1.500ms`,
      acks: -1,
      messages: [
        {
          key,
          value: encodeTask(task('forged-retry')),
          headers: { 'hs-attempt': '2', 'hs-due-at': String(Date.now()), 'hs-first-attempt-at': '1' },
        },
      ],
    });
    // A held row goes back through a tier when its endpoint can take deliveries: at once here.
    await db!.query(
      `INSERT INTO held_deliveries (endpoint_id, published_at_ms, task, state) VALUES ($1, $2, $3, $4)`,
      [
        endpoint.id,
        Date.now(),
        encodeTask(task('forged-held')),
        JSON.stringify({ ...FIRST_ATTEMPT, firstAttemptAtMs: Date.now() }),
      ],
    );
    const event = structuredEvent(tenant.id, 'record.updated', { front: 'door' });
    await s.producer.send({ topic: s.inputTopic, acks: -1, messages: [event.message] });

    const unauthenticated = () =>
      dlq!.messages.filter((m) => m.headers['hs-reason'] === 'task_unauthenticated');
    await waitFor(() => unauthenticated().length >= FORGED.length, {
      timeoutMs: 90_000,
      what: () => `${FORGED.length} task_unauthenticated dead letters, got ${unauthenticated().length}`,
    });
    const delivered = () => new Set(s.receiver.on('/mac').map((r) => r.headers['webhook-id']));
    await waitFor(() => delivered().has('sealed-direct') && delivered().has(event.id), {
      timeoutMs: 60_000,
      what: () => `the sealed task and the event delivered, got ${[...delivered()].join(', ')}`,
    });

    expect(
      unauthenticated()
        .map((m) => JSON.parse(m.value!).eventId as string)
        .sort(),
    ).toEqual([...FORGED].sort());
    expect(dlq!.messages.filter((m) => m.headers['hs-reason'] === 'invalid_delivery_record')).toHaveLength(1);
    expect([...delivered()].filter((id) => id.startsWith('forged'))).toEqual([]);
    // The released row is deleted when its release commits, which may be after the engine settled it.
    await waitFor(
      async () => {
        const [held] = await db!.query<Array<{ count: number }>>(
          'SELECT count(*)::int AS count FROM held_deliveries',
        );
        return held.count === 0;
      },
      { timeoutMs: 30_000, what: 'the forged held row gone from held_deliveries' },
    );

    // Mirrored for the operator only: no tenant owns them, and nothing is kept to replay.
    const rows = await waitFor(
      async () => {
        const found = await db!.query<Array<{ tenant_id: string | null; task: Buffer | null }>>(
          `SELECT tenant_id, task FROM dead_letters WHERE reason = 'task_unauthenticated'`,
        );
        return found.length >= FORGED.length ? found : null;
      },
      { timeoutMs: 30_000, what: 'the forged dead letters mirrored into dead_letters' },
    );
    expect(rows.map((row) => [row.tenant_id, row.task])).toEqual(FORGED.map(() => [null, null]));
    const listed = await tenant.client.ok('GET', '/v1/dead-letters');
    expect(JSON.stringify(listed)).not.toContain('forged');
    // Not even the operator can replay one: that would seal a task someone else wrote.
    const [forged] = await db!.query<Array<{ id: string }>>(
      `SELECT id FROM dead_letters WHERE reason = 'task_unauthenticated' LIMIT 1`,
    );
    const replay = await s.api.request('POST', `/v1/ops/dead-letters/${forged.id}/replay`);
    expect(replay.status).toBe(409);
  });
});
