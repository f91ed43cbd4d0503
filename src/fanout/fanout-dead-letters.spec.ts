import { toDeadLetterRow } from '../domain/dead-letter';
import { decodeTask } from '../domain/delivery-task';
import type { OutgoingRecord } from '../domain/records';
import { testConfig } from '../testing/fakes';
import { deliveries, dlq, event, orders, record, TENANT, world } from '../testing/fanout-world';

describe('FanoutService: dead letters', () => {
  it('dead-letters bad input with its reason and position, and fans the rest of the batch out', async () => {
    const { producer, fanOut } = world([orders]);
    const bad = record('{not json');
    await fanOut(bad, record(event('e-3')));
    expect(producer.to(dlq)).toEqual([
      expect.objectContaining({
        value: Buffer.from('{not json'),
        headers: expect.objectContaining({
          'hs-reason': 'invalid_json',
          'hs-origin': `platform.events/0/${bad.offset}`,
        }),
      }),
    ]);
    expect(producer.to(deliveries)).toHaveLength(1);
  });

  it("dead-letters an event failing its type's reject-mode schema as schema_mismatch, naming the path", async () => {
    const { producer, feed, fanOut, catalogue } = world([orders]);
    catalogue.apply({
      name: 'record.updated',
      schema: JSON.stringify({ type: 'object', required: ['id', 'status'] }),
      validation: 'reject',
      deprecated: false,
      version: 4,
    });
    const bad = record(event('e-40'));
    await fanOut(bad, record(event('e-41', 'record.created')));
    expect(producer.to(dlq)).toEqual([
      expect.objectContaining({
        value: bad.value,
        headers: expect.objectContaining({
          'hs-reason': 'schema_mismatch',
          'hs-reason-detail': 'data/status is required (schema of event type record.updated, version 4)',
        }),
      }),
    ]);
    expect(feed.map((row) => row.eventId)).toEqual(['e-41']);
    expect(producer.to(deliveries).map((task) => decodeTask(task.value as Buffer).eventId)).toEqual(['e-41']);
  });

  it('dead-letters an event of a tenant that does not exist as unknown_tenant', async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(record(event('e-4', 'record.updated', '99999999-9999-4999-8999-999999999999')));
    expect(producer.to(dlq)[0].headers).toMatchObject({ 'hs-reason': 'unknown_tenant' });
    expect(producer.to(deliveries)).toEqual([]);
  });

  it("delivers an event whose tenant id is the tenant's UUID in upper case (UUIDs are case-insensitive)", async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(record(event('e-upper', 'record.updated', TENANT.toUpperCase())));
    expect(producer.to(dlq)).toEqual([]);
    expect(decodeTask(producer.to(deliveries)[0].value as Buffer)).toMatchObject({
      eventId: 'e-upper',
      endpointId: orders.id,
      tenantId: TENANT,
    });
  });

  it("dead-letters an event whose record key is not its tenantid (another tenant's, none, other letter case) as tenant_key_mismatch", async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(
      { ...record(event('e-other-key')), key: '99999999-9999-4999-8999-999999999999' },
      { ...record(event('e-no-key')), key: null },
      // The API writes the endpoint-change markers under the lower-case id: keyed in upper case, the
      // event would go to another partition than its markers, and lose their order.
      { ...record(event('e-upper-key')), key: TENANT.toUpperCase() },
      // A tenantid in upper case is read as lower case: the key is checked against that.
      { ...record(event('e-upper-both', 'record.updated', TENANT.toUpperCase())), key: TENANT.toUpperCase() },
      record(event('e-lower-key', 'record.updated', TENANT.toUpperCase())),
    );
    expect(producer.to(dlq).map((r) => r.headers?.['hs-reason'])).toEqual(
      Array(4).fill('tenant_key_mismatch'),
    );
    expect(producer.to(dlq)[2].headers?.['hs-reason-detail']).toBe(
      `record key "${TENANT.toUpperCase()}" is not the event's tenantid ${TENANT}: the key must be the tenantid in lower case`,
    );
    expect(producer.to(deliveries).map((t) => decodeTask(t.value as Buffer).eventId)).toEqual([
      'e-lower-key',
    ]);
  });

  it("dead-letters an event whose tenant is not on its topic's list as tenant_not_allowed_on_topic", async () => {
    const listed = testConfig({
      HOOKSTREAM_TOPIC_NAMESPACE: 'hs',
      HOOKSTREAM_INPUT_TOPICS: 'platform.events,platform.events.billing,platform.events.crm',
      HOOKSTREAM_INPUT_TOPIC_TENANTS: `platform.events=*,platform.events.billing=${TENANT},platform.events.crm=99999999-9999-4999-8999-999999999999`,
    });
    const { producer, fanOut, feed } = world([orders], [orders], listed);
    await fanOut({ ...record(event('e-billing')), topic: 'platform.events.billing' });
    await fanOut({ ...record(event('e-crm')), topic: 'platform.events.crm' });
    await fanOut({ ...record(event('e-api')), topic: 'platform.events' });
    const [refused] = producer.to(dlq);
    expect(producer.to(dlq)).toHaveLength(1);
    expect(refused.headers).toMatchObject({
      'hs-reason': 'tenant_not_allowed_on_topic',
      'hs-reason-detail': `tenant ${TENANT} is not allowed on topic platform.events.crm (HOOKSTREAM_INPUT_TOPIC_TENANTS)`,
    });
    expect(JSON.parse(String(refused.value)).id).toBe('e-crm');
    // Never delivered, nor shown in the events feed as published.
    expect(producer.to(deliveries).map((t) => decodeTask(t.value as Buffer).eventId)).toEqual([
      'e-billing',
      'e-api',
    ]);
    expect(feed.map((row) => row.eventId)).toEqual(['e-billing', 'e-api']);
  });

  describe('bad input that names a tenant it was not checked against (decision 95)', () => {
    const OTHER = '99999999-9999-4999-8999-999999999999';
    const listed = testConfig({
      HOOKSTREAM_TOPIC_NAMESPACE: 'hs',
      HOOKSTREAM_INPUT_TOPICS: 'platform.events,platform.events.billing',
      HOOKSTREAM_INPUT_TOPIC_TENANTS: `platform.events=*,platform.events.billing=${TENANT}`,
    });
    /** The row the dead-letter mirror makes of a dead letter: whose list it lands in. */
    const rowOf = (dead: OutgoingRecord) =>
      toDeadLetterRow({
        topic: dlq,
        partition: 0,
        offset: '0',
        key: dead.key === null ? null : String(dead.key),
        value: dead.value === null ? null : Buffer.from(dead.value),
        headers: Object.fromEntries(Object.entries(dead.headers ?? {}).map(([k, v]) => [k, String(v)])),
        timestampMs: 0,
      });
    /** OTHER's event without a `type`: a parse failure that names OTHER. */
    const untyped = (id: string, tenantid = OTHER) =>
      JSON.stringify({ specversion: '1.0', id, source: '/s', tenantid });

    it('files a parse failure under no tenant when its key or its topic may not speak for the tenant it names', async () => {
      const { producer, fanOut } = world([orders], [orders], listed);
      // The billing principal, which may speak for TENANT only, writes OTHER's id on its own topic.
      await fanOut({ ...record(untyped('e-forged-1')), topic: 'platform.events.billing', key: TENANT });
      await fanOut({ ...record(untyped('e-forged-2')), topic: 'platform.events.billing', key: OTHER });
      // A malformed endpoint-change marker is refused before parsing too.
      await fanOut({
        ...record(untyped('e-forged-3'), { 'hs-control': 'nonsense' }),
        topic: 'platform.events.billing',
        key: OTHER,
      });
      // Keyed by its tenant in upper case: refused as an event that parses would be.
      await fanOut({ ...record(untyped('e-upper-key', TENANT)), key: TENANT.toUpperCase() });
      const rows = producer.to(dlq).map(rowOf);
      expect(rows.map((row) => [row.eventId, row.reason, row.tenantId])).toEqual([
        ['e-forged-1', 'missing_attribute', null],
        ['e-forged-2', 'missing_attribute', null],
        ['e-forged-3', 'invalid_attribute', null],
        ['e-upper-key', 'missing_attribute', null],
      ]);
      expect(producer.to(dlq).map((dead) => dead.headers?.['hs-unattributed'])).toEqual([
        'tenant_key_mismatch',
        'tenant_not_allowed_on_topic',
        'tenant_not_allowed_on_topic',
        'tenant_key_mismatch',
      ]);
      expect(rows[0].lastError).toContain('type');
    });

    it('files a parse failure under the tenant it names when its key and topic agree', async () => {
      const { producer, fanOut } = world([orders], [orders], listed);
      await fanOut({ ...record(untyped('e-own', TENANT)), topic: 'platform.events.billing' });
      await fanOut({ ...record(untyped('e-api')), key: OTHER });
      expect(
        producer
          .to(dlq)
          .map(rowOf)
          .map((row) => [row.eventId, row.tenantId]),
      ).toEqual([
        ['e-own', TENANT],
        ['e-api', OTHER],
      ]);
    });

    it('checks the tenant the truncated dead-letter copy names, not the one its full value named', async () => {
      const { producer, fanOut } = world([orders]);
      // Too large: the copy keeps 256 KiB of the value, so the mirror reads the tenant from ce_tenantid.
      const huge = JSON.stringify({ ...JSON.parse(event('e-huge')), pad: 'x'.repeat(300 * 1024) });
      await fanOut(record(huge, { ce_tenantid: OTHER }));
      const [dead] = producer.to(dlq);
      expect(dead.headers).toMatchObject({
        'hs-reason': 'too_large',
        'hs-unattributed': 'tenant_key_mismatch',
      });
      expect(rowOf(dead).tenantId).toBeNull();
    });
  });

  it('dead-letters a marker that names no endpoint', async () => {
    const { producer, fanOut } = world([orders]);
    await fanOut(record('{"endpointId":"nope"}', { 'hs-control': 'endpoint-changed' }));
    expect(producer.to(dlq)[0].headers).toMatchObject({ 'hs-reason': 'invalid_attribute' });
  });
});
