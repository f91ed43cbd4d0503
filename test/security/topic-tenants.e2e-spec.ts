/**
 * The per-topic tenant list (docs/security.md, "Tenants and principals"): with tenant A allowed
 * only on the billing topic, A's event on billing is delivered, A's event on the crm topic is
 * dead-lettered as tenant_not_allowed_on_topic and never reaches the receiver, not even through a
 * window replay of the input topics. A record on the crm topic naming A that does not parse keeps
 * its reason but, like the refused event, is the operator's: A's dead-letter list stays empty.
 */
import { collectTopic, type ReceivedMessage } from '../support/kafka';
import { waitForJob } from '../support/replay-jobs';
import { createStack, kafka, stopStack, structuredEvent, type Stack } from '../support/stack';
import { waitFor } from '../support/wait';

/** A tenant that exists nowhere: the crm topic's own tenant, so its list names someone else. */
const CRM_TENANT = '0c000000-0000-4000-8000-00000000c0de';

describe('input topic tenants', () => {
  let stack: Stack | undefined;
  let dlq: { messages: ReceivedMessage[]; stop: () => Promise<void> } | undefined;

  afterAll(async () => {
    await dlq?.stop();
    await stopStack(stack);
  });

  it("dead-letters a tenant's event on a topic that may not carry it and delivers it on its own topic", async () => {
    stack = await createStack('topictenants');
    const s = stack;
    const billing = `${s.namespace}.billing`;
    const crm = `${s.namespace}.crm`;
    const topics = { HOOKSTREAM_INPUT_TOPICS: `${s.inputTopic},${billing},${crm}` };
    // The tenant must exist before the list can name it: boot once without a list, then with one.
    await s.boot('topictenants-open', topics);
    const tenant = await s.api.createTenant('topic tenants');
    await s.boot('topictenants', {
      ...topics,
      HOOKSTREAM_INPUT_TOPIC_TENANTS: `${s.inputTopic}=*,${billing}=${tenant.id},${crm}=${CRM_TENANT}`,
    });
    dlq = await collectTopic(kafka, s.dlqTopic);
    const since = new Date(Date.now() - 1_000).toISOString();
    // The first boot's client points at a service that is gone.
    const client = s.api.as(tenant.apiKey);
    const endpoint = await client.ok<{ id: string }>('POST', '/v1/endpoints', {
      url: s.receiver.url('/topics'),
    });

    const allowed = structuredEvent(tenant.id, 'record.updated', { via: 'billing' });
    const refused = structuredEvent(tenant.id, 'record.updated', { via: 'crm' });
    await s.producer.send({ topic: crm, acks: -1, messages: [refused.message] });
    await s.producer.send({ topic: billing, acks: -1, messages: [allowed.message] });

    const notAllowed = () =>
      dlq!.messages.filter((m) => m.headers['hs-reason'] === 'tenant_not_allowed_on_topic');
    await waitFor(() => notAllowed().length >= 1, {
      timeoutMs: 90_000,
      what: () => `a tenant_not_allowed_on_topic dead letter, got ${dlq!.messages.length} dead letters`,
    });
    const delivered = () => s.receiver.on('/topics').map((r) => r.headers['webhook-id']);
    await waitFor(() => delivered().includes(allowed.id), {
      timeoutMs: 90_000,
      what: () => `the billing event delivered, got ${delivered().join(', ')}`,
    });

    const [deadLetter] = notAllowed();
    expect(notAllowed()).toHaveLength(1);
    expect(JSON.parse(deadLetter.value!).id).toBe(refused.id);
    expect(deadLetter.headers['hs-reason-detail']).toBe(
      `tenant ${tenant.id} is not allowed on topic ${crm} (HOOKSTREAM_INPUT_TOPIC_TENANTS)`,
    );

    // The crm principal names the tenant, and the id of its real event, in a record that does not
    // parse (no type): it keeps its reason, but it is the operator's, like the refused event.
    const untyped = { specversion: '1.0', id: allowed.id, source: '/forged', tenantid: tenant.id };
    await s.producer.send({
      topic: crm,
      acks: -1,
      messages: [{ key: tenant.id, value: JSON.stringify(untyped) }],
    });
    const rows = await waitFor(
      async () => {
        const { items } = await s.api.ok<{ items: Array<{ reason: string; tenantId: string | null }> }>(
          'GET',
          '/v1/ops/dead-letters',
        );
        return items.length >= 2 ? items : null;
      },
      { timeoutMs: 60_000, what: "both dead letters in the operator's list" },
    );
    expect(rows.map((row) => [row.reason, row.tenantId]).sort()).toEqual([
      ['missing_attribute', null],
      ['tenant_not_allowed_on_topic', null],
    ]);
    const forged = await waitFor(
      () => dlq!.messages.find((m) => m.headers['hs-reason'] === 'missing_attribute'),
      { what: 'the missing_attribute dead letter in the DLQ topic' },
    );
    expect(forged.headers['hs-unattributed']).toBe('tenant_not_allowed_on_topic');
    expect((await client.ok<{ data: unknown[] }>('GET', '/v1/dead-letters')).data).toEqual([]);

    // A window replay reads every input topic back: the refused event stays refused.
    const job = await client.ok<{ id: string }>('POST', `/v1/endpoints/${endpoint.id}/replay`, { since });
    const done = await waitForJob(client, job.id, 'succeeded');
    expect(done.counts.replayed).toBe(1);
    await waitFor(() => delivered().length >= 2, {
      timeoutMs: 60_000,
      what: () => `the billing event delivered again by the replay, got ${delivered().join(', ')}`,
    });
    expect(delivered()).toEqual([allowed.id, allowed.id]);
  });
});
