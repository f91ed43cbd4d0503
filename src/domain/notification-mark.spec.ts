import { parseCloudEvent, toStructuredCloudEvent, type PlatformEvent } from './cloud-event';
import { deriveNotificationKeys, NotificationMark } from './notification-mark';
import { deriveTaskKeys } from './task-seal';

const event: PlatformEvent = {
  specversion: '1.0',
  id: 'hookstream.endpoint.disabled.0a000000-0000-4000-8000-000000000001.1764676800000',
  type: 'hookstream.endpoint.disabled',
  source: 'hookstream',
  subject: '0a000000-0000-4000-8000-000000000001',
  time: '2025-12-02T12:00:00.000Z',
  tenantId: '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b',
  data: { endpoint: { id: '0a000000-0000-4000-8000-000000000001', url: null }, reason: 'HTTP 410' },
};

const [current, previous] = deriveNotificationKeys(['k'.repeat(32), 'p'.repeat(32)]);

/** The event as the fan-out reads it back from the bytes the publisher writes, with these headers. */
function readBack(value: string, headers: Record<string, string> = {}): PlatformEvent {
  const parsed = parseCloudEvent(Buffer.from(value), headers, 1 << 20);
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.event;
}

describe('NotificationMark', () => {
  const marks = new NotificationMark([current]);

  it('verifies the mark of an event read back from the structured JSON the publisher writes', () => {
    const mark = marks.mark(event);
    expect(mark).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(marks.check(readBack(toStructuredCloudEvent(event)), mark)).toEqual({ kind: 'marked' });
  });

  it('refuses the mark for any other id, tenant, subject or data, and an event without one', () => {
    const mark = marks.mark(event);
    for (const changed of [
      { ...event, id: 'other' },
      { ...event, tenantId: '99999999-9999-4999-8999-999999999999' },
      { ...event, subject: '0a000000-0000-4000-8000-000000000002' },
      { ...event, data: { ...(event.data as object), reason: 'made up' } },
      { ...event, type: 'hookstream.endpoint.failing' },
    ]) {
      expect(marks.check(changed, mark)).toMatchObject({ kind: 'refused' });
    }
    expect(marks.check(event, undefined)).toEqual({
      kind: 'refused',
      detail: 'hookstream.endpoint.disabled: hookstream.* types are published by Hookstream only',
    });
  });

  it('refuses a marked value re-dressed by binary-mode headers as another event', () => {
    const mark = marks.mark(event);
    const redressed = readBack(toStructuredCloudEvent(event), {
      'content-type': 'application/json',
      ce_specversion: '1.0',
      ce_id: 'x-1',
      ce_source: 'hookstream',
      ce_type: 'hookstream.endpoint.disabled',
      ce_tenantid: event.tenantId,
      ce_subject: '0a000000-0000-4000-8000-000000000009',
      ce_time: event.time,
    });
    expect(marks.check(redressed, mark)).toMatchObject({ kind: 'refused' });
  });

  it('accepts a previous key (rotation), never a foreign one, nor the task key of the same secret', () => {
    const rotated = new NotificationMark([deriveNotificationKeys(['n'.repeat(32)])[0], current]);
    expect(rotated.check(event, marks.mark(event))).toEqual({ kind: 'marked' });
    expect(marks.check(event, new NotificationMark([previous]).mark(event))).toMatchObject({
      kind: 'refused',
    });
    const taskKey = new NotificationMark(deriveTaskKeys(['k'.repeat(32)]));
    expect(marks.check(event, taskKey.mark(event))).toMatchObject({ kind: 'refused' });
  });

  it('takes an unmarked event only when told to (an upgrade), and a bad mark never', () => {
    const upgrading = new NotificationMark([current], true);
    expect(upgrading.check(event, undefined)).toEqual({ kind: 'unmarked-accepted' });
    expect(upgrading.check(event, 'AAAA')).toMatchObject({ kind: 'refused' });
    expect(upgrading.check(event, marks.mark({ ...event, id: 'other' }))).toMatchObject({ kind: 'refused' });
  });

  it('asks nothing of other types, whatever header they carry', () => {
    const ordinary = { ...event, type: 'record.updated', source: '/crm' };
    expect(marks.check(ordinary, undefined)).toEqual({ kind: 'not-reserved' });
    expect(marks.check(ordinary, 'AAAA')).toEqual({ kind: 'not-reserved' });
  });
});
