import {
  decodeFeedCursor,
  deliveryStateOf,
  encodeFeedCursor,
  isTypePattern,
  parseTypeFilter,
  prefixRangeOf,
  type DeliveryFacts,
} from './event-feed';
import { matchesEventType } from './subscription-matcher';

describe('feed cursor', () => {
  it('decodes what it encoded, up to the largest 64-bit values', () => {
    for (const cursor of [
      { txid: '0', seq: '1' },
      { txid: '18446744073709551615', seq: '9223372036854775807' },
    ]) {
      expect(decodeFeedCursor(encodeFeedCursor(cursor))).toEqual(cursor);
    }
  });

  it('is opaque: no separators or padding a client would need to escape', () => {
    expect(encodeFeedCursor({ txid: '123', seq: '456' })).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it.each([
    ['not base64 JSON', 'nope'],
    ['another list cursor', Buffer.from(JSON.stringify(['2026-01-01T00:00:00Z', '5'])).toString('base64url')],
    ['another version', Buffer.from(JSON.stringify(['e0', '1', '2'])).toString('base64url')],
    ['a negative position', Buffer.from(JSON.stringify(['e1', '-1', '2'])).toString('base64url')],
    ['numbers, not strings', Buffer.from(JSON.stringify(['e1', 1, 2])).toString('base64url')],
    ['past 64 bits', Buffer.from(JSON.stringify(['e1', '18446744073709551616', '2'])).toString('base64url')],
    [
      'a seq past bigint',
      Buffer.from(JSON.stringify(['e1', '1', '9223372036854775808'])).toString('base64url'),
    ],
    ['leading zeros', Buffer.from(JSON.stringify(['e1', '01', '2'])).toString('base64url')],
    ['empty', ''],
  ])('refuses %s', (_, text) => {
    expect(decodeFeedCursor(text)).toBeNull();
  });
});

describe('type filter', () => {
  it('lists everything for no pattern or for *', () => {
    expect(parseTypeFilter([])).toEqual({ all: true, exact: [], prefixes: [] });
    expect(parseTypeFilter(['a.b', '*'])).toEqual({ all: true, exact: [], prefixes: [] });
    expect(parseTypeFilter([' ', ''])).toMatchObject({ all: true });
  });

  it('splits exact types from prefixes, keeping the dot of a prefix', () => {
    expect(parseTypeFilter(['record.*', 'status.changed', ' record.* '])).toEqual({
      all: false,
      exact: ['status.changed'],
      prefixes: ['record.'],
    });
  });

  /** What SQL does with the filter (type = exact OR after < type < before, in byte order), done here. */
  const bytes = (text: string) => Buffer.from(text, 'utf8');
  const sqlMatch = (patterns: string[], type: string) => {
    const filter = parseTypeFilter(patterns);
    return (
      filter.all ||
      filter.exact.includes(type) ||
      filter.prefixes.some((prefix) => {
        const { after, before } = prefixRangeOf(prefix);
        return (
          Buffer.compare(bytes(type), bytes(after)) > 0 && Buffer.compare(bytes(type), bytes(before)) < 0
        );
      })
    );
  };

  it('matches as endpoint subscriptions do', () => {
    const patterns = [['record.*'], ['record.*', 'b'], ['a.b.*'], ['*'], ['x']];
    const types = [
      'record',
      'record.',
      'record.updated',
      'recordx.y',
      'record.a.b',
      'record/',
      'record/x',
      'record.é',
      'recordé',
      'b',
      'a.b.c',
      'a.b',
      'x',
    ];
    for (const list of patterns) {
      for (const type of types)
        expect([list, type, sqlMatch(list, type)]).toEqual([list, type, matchesEventType(list, type)]);
    }
  });

  it('accepts the patterns a subscription could hold and nothing else', () => {
    expect(['a', 'a.b', 'a.*', '*', 'a.b.*'].filter(isTypePattern)).toHaveLength(5);
    expect(['', '.*', 'a*', 'a.*.b', '**', 'a b', 'é'].filter(isTypePattern)).toEqual([]);
  });
});

describe('delivery state of an event at an endpoint', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  const none: DeliveryFacts = { attempts: [], deadLetters: [], held: false, parked: false };
  const failed = (s: number) => ({ outcome: 'failed', attemptedAt: at(s) });
  const delivered = (s: number) => ({ outcome: 'delivered', attemptedAt: at(s) });

  it('is pending with nothing known yet', () => expect(deliveryStateOf(none)).toBe('pending'));

  it('is retrying after failed attempts only, delivered once one succeeded', () => {
    expect(deliveryStateOf({ ...none, attempts: [failed(1), failed(2)] })).toBe('retrying');
    expect(deliveryStateOf({ ...none, attempts: [failed(1), delivered(2)] })).toBe('delivered');
  });

  it('says held or parked first: a waiting row is the present', () => {
    expect(deliveryStateOf({ ...none, attempts: [failed(1)], held: true })).toBe('held');
    expect(deliveryStateOf({ ...none, attempts: [failed(1)], parked: true })).toBe('parked');
  });

  it('is dead-lettered until replayed, then counts only the attempts since the replay', () => {
    const deadLetter = { createdAt: at(3), replayedAt: null };
    const attempts = [failed(1), failed(2), failed(3)];
    expect(deliveryStateOf({ ...none, attempts, deadLetters: [deadLetter] })).toBe('dead_lettered');
    const replayed = { createdAt: at(3), replayedAt: at(10) };
    expect(deliveryStateOf({ ...none, attempts, deadLetters: [replayed] })).toBe('pending');
    expect(deliveryStateOf({ ...none, attempts: [...attempts, failed(11)], deadLetters: [replayed] })).toBe(
      'retrying',
    );
    expect(
      deliveryStateOf({ ...none, attempts: [...attempts, delivered(11)], deadLetters: [replayed] }),
    ).toBe('delivered');
    // Replayed, failed again to the end: a second dead letter, not replayed.
    expect(
      deliveryStateOf({
        ...none,
        attempts: [...attempts, failed(11)],
        deadLetters: [replayed, { createdAt: at(12), replayedAt: null }],
      }),
    ).toBe('dead_lettered');
  });
});
