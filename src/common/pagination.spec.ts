import { decodeCursor, encodeCursor } from './pagination';

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
    ['bad id', Buffer.from('["2025-03-04T05:06:07.089Z","x"]').toString('base64url')],
  ])('refuses %s', (_label, text) => {
    expect(decodeCursor(text)).toBeNull();
  });
});
