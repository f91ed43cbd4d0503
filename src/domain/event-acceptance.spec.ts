import { CatalogueSchemas } from './catalogue-schemas';
import type { PlatformEvent } from './cloud-event';
import { acceptTenantEvent, type AcceptanceRules } from './event-acceptance';
import type { ConsumedRecord } from './records';
import { parseTopicTenants } from './topic-tenants';

const tenantId = '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';
const otherTenant = '2f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b';

const event = (overrides: Partial<PlatformEvent> = {}): PlatformEvent => ({
  specversion: '1.0',
  id: 'e-1',
  type: 'order.created',
  source: 'orders',
  time: '2026-12-02T12:00:00.000Z',
  tenantId,
  data: { status: 'paid' },
  ...overrides,
});

const record = (key: string | null, topic = 'platform.events'): ConsumedRecord => ({
  topic,
  partition: 0,
  offset: '0',
  key,
  value: null,
  headers: {},
  timestampMs: 0,
});

function rules(overrides: Partial<AcceptanceRules> = {}): AcceptanceRules {
  const catalogue = new CatalogueSchemas();
  catalogue.apply({
    name: 'order.created',
    schema: JSON.stringify({ type: 'object', required: ['status'] }),
    validation: 'reject',
    deprecated: false,
    version: 1,
  });
  return {
    maxEventBytes: 1024,
    inputTopicTenants: null,
    checkSchema: (type, data) => catalogue.check(type, data),
    ...overrides,
  };
}

describe('acceptTenantEvent', () => {
  it('takes an event keyed by its tenant, allowed on its topic, fitting its schema and the size limit', () => {
    expect(acceptTenantEvent(record(tenantId), event(), { kind: 'not-reserved' }, rules())).toEqual({
      ok: true,
      data: Buffer.from('{"status":"paid"}'),
    });
  });

  it.each([
    ['another tenant', otherTenant],
    ['its tenant in upper case', tenantId.toUpperCase()],
    ['no key', null],
  ])('refuses a record keyed by %s as tenant_key_mismatch', (_label, key) => {
    expect(acceptTenantEvent(record(key), event(), { kind: 'not-reserved' }, rules())).toMatchObject({
      ok: false,
      reason: 'tenant_key_mismatch',
    });
  });

  it('refuses a tenant its topic may not carry, checked after the key', () => {
    const onlyOther = rules({
      inputTopicTenants: parseTopicTenants(`platform.events=*,platform.legacy=${otherTenant}`, [
        'platform.events',
        'platform.legacy',
      ]),
    });
    const legacy = (key: string | null) => record(key, 'platform.legacy');
    expect(acceptTenantEvent(legacy(tenantId), event(), { kind: 'not-reserved' }, onlyOther)).toMatchObject({
      ok: false,
      reason: 'tenant_not_allowed_on_topic',
    });
    expect(acceptTenantEvent(legacy(null), event(), { kind: 'not-reserved' }, onlyOther)).toMatchObject({
      reason: 'tenant_key_mismatch',
    });
  });

  it("refuses data failing its type's reject-mode schema, but never checks a Hookstream notification's", () => {
    const failing = event({ data: { amount: 1 } });
    expect(acceptTenantEvent(record(tenantId), failing, { kind: 'not-reserved' }, rules())).toEqual({
      ok: false,
      reason: 'schema_mismatch',
      detail: 'data/status is required (schema of event type order.created, version 1)',
    });
    expect(acceptTenantEvent(record(tenantId), failing, { kind: 'marked' }, rules())).toMatchObject({
      ok: true,
    });
  });

  it('refuses data over the limit as delivered (too_large)', () => {
    const large = event({ data: { status: 'x'.repeat(2000) } });
    expect(acceptTenantEvent(record(tenantId), large, { kind: 'not-reserved' }, rules())).toMatchObject({
      ok: false,
      reason: 'too_large',
    });
  });
});
