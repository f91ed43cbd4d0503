import {
  decideWindow,
  isAboutEndpoint,
  mergeTallies,
  notificationEventId,
  NOTIFICATION_TYPE,
  TallyBook,
  tallyOf,
  type NotificationWindow,
  type Tally,
} from './notifications';
import { EVENT_ID_PATTERN } from './event-contract';

const MINUTE = 60_000;
const deadLetter = (atMs: number, eventId: string, reason = 'max_attempts'): Tally =>
  tallyOf({ atMs, eventId, reason });

describe('decideWindow', () => {
  const empty: NotificationWindow = { sentAtMs: null, pending: null };

  it('sends the first signal at once', () => {
    const decision = decideWindow(empty, deadLetter(1_000, 'e1'), 1_000, 15 * MINUTE);
    expect(decision.send).toMatchObject({ count: 1, firstEventId: 'e1', lastEventId: 'e1' });
    expect(decision.next).toEqual({ sentAtMs: 1_000, pending: null });
  });

  it('holds signals inside the interval and sends them all, counted, once it has passed', () => {
    let window = decideWindow(empty, deadLetter(0, 'e0'), 0, 15 * MINUTE).next;
    for (let i = 1; i <= 1_000; i += 1) {
      const decision = decideWindow(
        window,
        deadLetter(i * 100, `e${i}`, i % 2 ? 'max_attempts' : 'endpoint_disabled'),
        i * 100,
        15 * MINUTE,
      );
      expect(decision.send).toBeNull();
      window = decision.next;
    }
    expect(window.pending?.count).toBe(1_000);
    const nothingNew = decideWindow(window, null, 15 * MINUTE, 15 * MINUTE);
    expect(nothingNew.send).toEqual({
      count: 1_000,
      firstAtMs: 100,
      lastAtMs: 100_000,
      firstEventId: 'e1',
      lastEventId: 'e1000',
      reasons: { max_attempts: 500, endpoint_disabled: 500 },
      consecutiveFailures: null,
      failingSinceMs: null,
      lastStatus: null,
      lastError: null,
    });
    expect(nothingNew.next).toEqual({ sentAtMs: 15 * MINUTE, pending: null });
  });

  it('sends at most one notification per interval however many signals arrive', () => {
    let window = empty;
    let sent = 0;
    let counted = 0;
    // One signal every second for 2 hours, intervals of 15 minutes: 8 notifications, plus the first.
    for (let second = 0; second <= 2 * 3_600; second += 1) {
      const decision = decideWindow(
        window,
        deadLetter(second * 1000, `e${second}`),
        second * 1000,
        15 * MINUTE,
      );
      if (decision.send) {
        sent += 1;
        counted += decision.send.count;
      }
      window = decision.next;
    }
    expect(sent).toBe(9);
    expect(counted + (window.pending?.count ?? 0)).toBe(2 * 3_600 + 1);
  });

  it('does nothing without signals', () => {
    const window = { sentAtMs: 5, pending: null };
    expect(decideWindow(window, null, 10 * 15 * MINUTE, 15 * MINUTE)).toEqual({ send: null, next: window });
  });
});

describe('mergeTallies', () => {
  it('keeps the first failing-since and the latest failure figures', () => {
    const first = tallyOf({ atMs: 1, consecutiveFailures: 10, failingSinceMs: 0, lastStatus: 500 });
    const later = tallyOf({
      atMs: 9,
      consecutiveFailures: 14,
      failingSinceMs: 0,
      lastStatus: null,
      lastError: 'timeout',
    });
    expect(mergeTallies(first, later)).toMatchObject({
      count: 2,
      consecutiveFailures: 14,
      failingSinceMs: 0,
      lastStatus: null,
      lastError: 'timeout',
    });
    expect(mergeTallies(null, later)).toBe(later);
    expect(mergeTallies(first, null)).toBe(first);
  });
});

describe('TallyBook', () => {
  it('adds up per key, drains, and restores a failed flush before what came meanwhile', () => {
    const book = new TallyBook<string>();
    book.add('a', deadLetter(1, 'e1'));
    book.add('a', deadLetter(2, 'e2'));
    book.add('b', deadLetter(3, 'e3'));
    const drained = book.drain();
    expect(book.size).toBe(0);
    expect(drained.get('a')).toMatchObject({ count: 2, firstEventId: 'e1', lastEventId: 'e2' });
    book.add('a', deadLetter(4, 'e4'));
    book.restore('a', drained.get('a')!);
    expect(book.drain().get('a')).toMatchObject({ count: 3, firstEventId: 'e1', lastEventId: 'e4' });
  });
});

describe('isAboutEndpoint', () => {
  const notification = { type: NOTIFICATION_TYPE.failing, source: 'hookstream', subject: 'ep-1' };

  it('names the endpoint a notification is about, so the fan-out leaves it out', () => {
    expect(isAboutEndpoint(notification, 'ep-1')).toBe(true);
    expect(isAboutEndpoint(notification, 'ep-2')).toBe(false);
  });

  it('leaves platform events alone whatever their subject', () => {
    expect(isAboutEndpoint({ type: 'record.updated', source: 'hookstream', subject: 'ep-1' }, 'ep-1')).toBe(
      false,
    );
    expect(isAboutEndpoint({ ...notification, source: '/crm' }, 'ep-1')).toBe(false);
  });
});

describe('notificationEventId', () => {
  it('is a valid event id, the same for the same endpoint, type and moment', () => {
    const id = notificationEventId(
      NOTIFICATION_TYPE.disabled,
      '0b8e7a4e-3c4f-4d36-9a38-5f0d0c6b1f11',
      1_764_572_400_000,
    );
    expect(id).toMatch(EVENT_ID_PATTERN);
    expect(
      notificationEventId(
        NOTIFICATION_TYPE.disabled,
        '0b8e7a4e-3c4f-4d36-9a38-5f0d0c6b1f11',
        1_764_572_400_000,
      ),
    ).toBe(id);
  });
});
