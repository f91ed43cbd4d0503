import { decodeCursor, decodeExactCursor, encodeCursor, encodeExactCursor } from './pagination';

const ID = '2f1c6c52-8a3e-4c47-9d0e-4f7c7a0c3b11';
const cursorText = (date: string): string => Buffer.from(JSON.stringify([date, ID])).toString('base64url');

describe('pagination cursor', () => {
  it('round-trips through an opaque base64url string', () => {
    const cursor = {
      createdAt: new Date('2025-03-04T05:06:07.089Z'),
      id: '2f1c6c52-8a3e-4c47-9d0e-4f7c7a0c3b11',
    };
    const text = encodeCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual(cursor);
  });

  it.each([
    ['garbage', '!!!'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['wrong shape', Buffer.from('{"a":1}').toString('base64url')],
    ['bad date', Buffer.from('["soon","2f1c6c52-8a3e-4c47-9d0e-4f7c7a0c3b11"]').toString('base64url')],
    ['a date before 4713 BC, which PostgreSQL cannot hold', cursorText('-271821-04-20T00:00:00.000Z')],
    ['a date in year 0', cursorText('0000-12-31T23:59:59.999Z')],
    ['a date after year 9999', cursorText('+010000-01-01T00:00:00.000Z')],
    ['bad id', Buffer.from('["2025-03-04T05:06:07.089Z","x"]').toString('base64url')],
  ])('refuses %s', (_label, text) => {
    expect(decodeCursor(text)).toBeNull();
  });

  it.each(['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'])('accepts the edge date %s', (date) => {
    expect(decodeCursor(cursorText(date))?.createdAt.toISOString()).toBe(date);
  });
});

describe('exact pagination cursor', () => {
  const id = '2f1c6c52-8a3e-4c47-9d0e-4f7c7a0c3b11';
  const raw = (createdAt: string) => Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');

  it('keeps the microseconds PostgreSQL gave', () => {
    const cursor = { createdAt: '2025-03-04T05:06:07.123456Z', id };
    expect(decodeExactCursor(encodeExactCursor(cursor))).toEqual(cursor);
  });

  it('reads a millisecond cursor issued before it', () => {
    const text = encodeCursor({ createdAt: new Date('2025-03-04T05:06:07.089Z'), id });
    expect(decodeExactCursor(text)).toEqual({ createdAt: '2025-03-04T05:06:07.089Z', id });
  });

  it.each([
    ['a date that does not exist', raw('2025-02-30T05:06:07.123456Z')],
    ['more than microseconds', raw('2025-03-04T05:06:07.1234567Z')],
    ['an offset other than Z', raw('2025-03-04T05:06:07.123+01:00')],
    ['a year past 9999', raw('+010000-01-01T00:00:00.000Z')],
    ['garbage', '!!!'],
  ])('refuses %s', (_label, text) => {
    expect(decodeExactCursor(text)).toBeNull();
  });
});
