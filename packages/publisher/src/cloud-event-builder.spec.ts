import { buildCloudEvent } from './cloud-event-builder';
import { parseCloudEvent } from './contract';
import { InvalidEventError, PublishError } from './errors';

interface RecordEvents {
  'record.updated': { recordId: string; version: number };
  'status.changed': { from: string; to: string };
}

const TENANT = '6f1c1c9e-2b7a-4c7e-9a39-0d5b8b1f2a10';
const fixed = {
  source: '/records-service',
  newId: () => 'evt_1',
  now: () => new Date('2026-12-02T09:30:00Z'),
};

function refusal(run: () => unknown): InvalidEventError {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidEventError) return error;
    throw error;
  }
  throw new Error('expected an InvalidEventError');
}

describe('buildCloudEvent', () => {
  it('builds a structured CloudEvent keyed by the tenant, with the tenantid attribute', () => {
    const { record, event } = buildCloudEvent<RecordEvents>(
      {
        type: 'record.updated',
        tenantId: TENANT,
        data: { recordId: 'r1', version: 3 },
        subject: 'record/r1',
      },
      fixed,
    );
    expect(record.key).toBe(TENANT);
    expect(record.headers).toEqual({ 'content-type': 'application/cloudevents+json' });
    expect(JSON.parse(record.value.toString())).toEqual({
      specversion: '1.0',
      id: 'evt_1',
      source: '/records-service',
      type: 'record.updated',
      time: '2026-12-02T09:30:00.000Z',
      tenantid: TENANT,
      subject: 'record/r1',
      data: { recordId: 'r1', version: 3 },
    });
    expect(event).toMatchObject({ id: 'evt_1', tenantId: TENANT, data: { recordId: 'r1', version: 3 } });
  });

  it('builds binary mode: attributes in ce_* headers, data as the JSON value', () => {
    const { record } = buildCloudEvent<RecordEvents>(
      { type: 'status.changed', tenantId: TENANT, data: { from: 'a', to: 'b' }, id: 'evt_2' },
      { ...fixed, mode: 'binary' },
    );
    expect(record.headers).toMatchObject({
      'content-type': 'application/json',
      ce_specversion: '1.0',
      ce_id: 'evt_2',
      ce_type: 'status.changed',
      ce_tenantid: TENANT,
      ce_source: '/records-service',
    });
    expect(JSON.parse(record.value.toString())).toEqual({ from: 'a', to: 'b' });
    // What the service's fan-out reads back is the same event in either mode.
    const parsed = parseCloudEvent(record.value, record.headers, 1024);
    expect(parsed).toMatchObject({
      ok: true,
      event: { id: 'evt_2', type: 'status.changed', data: { from: 'a', to: 'b' } },
    });
  });

  it('keys an upper-case tenant id by the lower-case form the service reads', () => {
    const { record } = buildCloudEvent<RecordEvents>(
      { type: 'record.updated', tenantId: TENANT.toUpperCase(), data: { recordId: 'r', version: 1 } },
      fixed,
    );
    expect(record.key).toBe(TENANT);
  });

  it.each([
    ['an id with a space', { id: 'evt 1' }, 'invalid_attribute', "'id'"],
    ['an id over 256 characters', { id: 'x'.repeat(257) }, 'invalid_attribute', "'id'"],
    ['a source with a NUL', { source: '/a\u0000b' }, 'invalid_attribute', "'source'"],
    ['a subject with a lone surrogate', { subject: 'a\ud800' }, 'invalid_attribute', "'subject'"],
    ['a time without an offset', { time: '2026-12-02T09:30:00' }, 'invalid_attribute', "'time'"],
    ['an empty tenant id', { tenantId: '' }, 'invalid_attribute', "'tenantid'"],
    ['a tenant id that is not a UUID', { tenantId: 'tenant-1' }, 'unknown_tenant', "'tenantid'"],
  ])('refuses %s as the service would', (_label, override, reason, attribute) => {
    const error = refusal(() =>
      buildCloudEvent<RecordEvents>(
        { type: 'record.updated', tenantId: TENANT, data: { recordId: 'r', version: 1 }, ...override },
        fixed,
      ),
    );
    expect(error.reason).toBe(reason);
    expect(error.detail).toContain(attribute);
    expect(error.retriable).toBe(false);
    expect(error).toBeInstanceOf(PublishError);
  });

  it('refuses data the service would refuse or JSON would change: Infinity, 65 levels, a cycle', () => {
    const build = (data: unknown) =>
      buildCloudEvent({ type: 'record.updated', tenantId: TENANT, data } as never, fixed);
    expect(refusal(() => build({ amount: Infinity })).detail).toContain('range of a double');
    let deep: unknown = 1;
    for (let i = 0; i < 65; i++) deep = [deep];
    expect(refusal(() => build(deep)).detail).toContain('nested deeper');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(refusal(() => build(cycle)).detail).toContain("'data'");
  });

  it('refuses an event over the size limit with too_large', () => {
    const error = refusal(() =>
      buildCloudEvent({ type: 'record.updated', tenantId: TENANT, data: 'x'.repeat(2048) } as never, {
        ...fixed,
        maxEventBytes: 1024,
      }),
    );
    expect(error.reason).toBe('too_large');
  });

  it('accepts only the declared event types and their data (checked by the compiler)', () => {
    const build = (input: Parameters<typeof buildCloudEvent<RecordEvents>>[0]) =>
      buildCloudEvent<RecordEvents>(input, fixed);
    const undeclared = { type: 'record.deleted', tenantId: TENANT, data: {} } as const;
    // @ts-expect-error: 'record.deleted' is not declared
    expect(() => build(undeclared)).not.toThrow();
    const wrongData = {
      type: 'status.changed',
      tenantId: TENANT,
      data: { recordId: 'r', version: 1 },
    } as const;
    // @ts-expect-error: status.changed carries { from, to }
    expect(() => build(wrongData)).not.toThrow();
  });
});
