/**
 * Notifications only Hookstream can publish (docs/security.md, "Notification integrity"): a
 * `hookstream.*` event written to the input topic by any other producer, without Hookstream's mark
 * or with a mark that does not verify, is dead-lettered as reserved_type, kept for the operator, and
 * never reaches the ops endpoint; Hookstream's own notification of a real 410 disable still does.
 */
import type { DataSource } from 'typeorm';
import { collectTopic, type ReceivedMessage } from '../support/kafka';
import { kafka, startStack, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

describe('forged notifications', () => {
  let stack: Stack | undefined;
  let dlq: { messages: ReceivedMessage[]; stop: () => Promise<void> } | undefined;
  let db: DataSource | undefined;

  beforeAll(async () => {
    stack = await startStack('forgednotify');
    dlq = await collectTopic(kafka, stack.dlqTopic);
    db = await stack.database.connect();
  });

  afterAll(async () => {
    await dlq?.stop();
    await db?.destroy();
    await stopStack(stack);
  });

  it('dead-letters a hookstream.* event Hookstream did not mark as reserved_type, and still delivers its own', async () => {
    const s = stack!;
    const tenant = await s.api.createTenant('Forged at');
    s.receiver.respond('/ops', { status: 204 });
    s.receiver.respond('/gone', { status: 410 });
    await tenant.client.ok('POST', '/v1/endpoints', {
      url: s.receiver.url('/ops'),
      eventTypes: ['hookstream.*'],
    });
    const gone = await tenant.client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: s.receiver.url('/gone'),
      eventTypes: ['record.*'],
    });

    // What a producer allowed on the input topic could write: the disable of an endpoint that is fine.
    const forged = (id: string) => ({
      key: tenant.id,
      value: JSON.stringify({
        specversion: '1.0',
        id,
        source: 'hookstream',
        subject: gone.id,
        type: 'hookstream.endpoint.disabled',
        time: new Date().toISOString(),
        tenantid: tenant.id,
        data: { endpoint: { id: gone.id, url: null }, reason: 'endpoint answered HTTP 410; disabled' },
      }),
      headers: { 'content-type': 'application/cloudevents+json' },
    });
    const garbled = forged('forged-garbled-mark');
    const withMark = {
      ...garbled,
      headers: { ...garbled.headers, 'hs-notification-mac': 'A'.repeat(43) + '=' },
    };
    await s.producer.send({ topic: s.inputTopic, acks: -1, messages: [forged('forged-no-mark'), withMark] });
    // A real 410: Hookstream disables /gone and publishes its own notification.
    await s.producer.send({
      topic: s.inputTopic,
      acks: -1,
      messages: [structuredEvent(tenant.id, 'record.updated', { n: 1 }).message],
    });

    const opsIds = () => s.receiver.on('/ops').map((request) => request.headers['webhook-id']);
    await waitFor(() => opsIds().some((id) => id.startsWith(`hookstream.endpoint.disabled.${gone.id}.`)), {
      timeoutMs: 90_000,
      what: () => `Hookstream's own disable notification at /ops, got ${opsIds().join(', ')}`,
    });
    const reserved = () => dlq!.messages.filter((m) => m.headers['hs-reason'] === 'reserved_type');
    await waitFor(() => reserved().length >= 2, {
      timeoutMs: 30_000,
      what: () =>
        `two reserved_type dead letters, got ${dlq!.messages.map((m) => m.headers['hs-reason']).join(', ')}`,
    });
    expect(reserved().map((m) => [JSON.parse(m.value!).id, m.headers['hs-reason-detail']])).toEqual([
      ['forged-no-mark', 'hookstream.endpoint.disabled: hookstream.* types are published by Hookstream only'],
      ['forged-garbled-mark', 'hookstream.endpoint.disabled: its notification mark does not verify'],
    ]);
    expect(opsIds().filter((id) => id.startsWith('forged'))).toEqual([]);

    // The operator's dead letters: no tenant row, so the tenant's list does not show them.
    const rows = await waitFor(
      async () => {
        const found = await db!.query<Array<{ tenant_id: string | null; event_id: string }>>(
          `SELECT tenant_id, event_id FROM dead_letters WHERE reason = 'reserved_type' ORDER BY event_id`,
        );
        return found.length >= 2 ? found : null;
      },
      { timeoutMs: 30_000, what: 'the reserved_type dead letters mirrored into dead_letters' },
    );
    expect(rows).toEqual([
      { tenant_id: null, event_id: 'forged-garbled-mark' },
      { tenant_id: null, event_id: 'forged-no-mark' },
    ]);
    expect(JSON.stringify(await tenant.client.ok('GET', '/v1/dead-letters'))).not.toContain('forged');
    // In the tenant's feed: its own notification (the feed's writes are batched), no forged one.
    const feed = await waitFor(
      async () => {
        const page = await tenant.client.ok<{ data: Array<{ id: string }> }>(
          'GET',
          '/v1/events?types=hookstream.endpoint.disabled',
        );
        return page.data.length > 0 ? page.data.map((event) => event.id) : null;
      },
      { timeoutMs: 30_000, what: 'the disable notification in the events feed' },
    );
    expect(feed).toEqual([expect.stringMatching(/^hookstream\.endpoint\.disabled\./)]);
  });
});
