import { encodeFeedCursor } from './event-feed';
import { deriveFeedCursorKeys, FeedCursorSeal } from './feed-cursor-seal';

const KEY = 'k'.repeat(32);
const OLD_KEY = 'o'.repeat(32);
const TENANT = '0b6c4f0e-3f55-4a2f-9a57-6c1d3f1e2a10';
const OTHER = '5d0e8a51-93b3-4c5e-8f71-2b9a4c6d7e80';
const seal = (keys: string[], acceptPlain = true) =>
  new FeedCursorSeal(deriveFeedCursorKeys(keys), acceptPlain);

describe('FeedCursorSeal', () => {
  it('opens what it sealed, up to the largest positions, for the same tenant', () => {
    const codec = seal([KEY]);
    for (const cursor of [
      { txid: '0', seq: '1' },
      { txid: '18446744073709551615', seq: '9223372036854775807' },
    ]) {
      expect(codec.open(TENANT, codec.seal(TENANT, cursor))).toEqual({ cursor, format: 'sealed' });
    }
  });

  it('shows neither counter: the text is not JSON and holds no digits of them', () => {
    const text = seal([KEY]).seal(TENANT, { txid: '734562', seq: '981234' });
    const decoded = Buffer.from(text, 'base64url').toString('latin1');
    expect(decoded).not.toContain('734562');
    expect(decoded).not.toContain('981234');
    expect(() => JSON.parse(decoded) as unknown).toThrow();
    // Nor their binary form: two cursors one seq apart differ all over, not in the last byte.
    const next = seal([KEY]).seal(TENANT, { txid: '734562', seq: '981235' });
    const [a, b] = [Buffer.from(text, 'base64url'), Buffer.from(next, 'base64url')];
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
  });

  it('gives the same text for the same position (an idle poll hands the cursor back), URL-safe and short', () => {
    const codec = seal([KEY]);
    const text = codec.seal(TENANT, { txid: '10', seq: '20' });
    expect(codec.seal(TENANT, { txid: '10', seq: '20' })).toBe(text);
    expect(text).toMatch(/^[A-Za-z0-9_-]{60}$/);
  });

  it("refuses another tenant's cursor, a tampered one, and one under a key no longer configured", () => {
    const codec = seal([KEY]);
    const text = codec.seal(TENANT, { txid: '10', seq: '20' });
    expect(codec.open(OTHER, text)).toBeNull();
    const tampered = Buffer.from(text, 'base64url');
    tampered[20] ^= 1;
    expect(codec.open(TENANT, tampered.toString('base64url'))).toBeNull();
    expect(seal([OLD_KEY]).open(TENANT, text)).toBeNull();
  });

  it('keeps the two orders apart: a newest-first cursor opens only newest first, and only for its tenant', () => {
    const codec = seal([KEY]);
    const cursor = { txid: '10', seq: '20' };
    const newest = codec.seal(TENANT, cursor, 'newest');
    expect(newest).toMatch(/^[A-Za-z0-9_-]{60}$/);
    expect(codec.open(TENANT, newest, 'newest')).toEqual({ cursor, format: 'sealed' });
    expect(codec.open(TENANT, newest)).toBeNull();
    expect(codec.open(TENANT, codec.seal(TENANT, cursor), 'newest')).toBeNull();
    expect(codec.open(OTHER, newest, 'newest')).toBeNull();
    // The format byte alone does not make one order's cursor the other's.
    const relabelled = Buffer.from(newest, 'base64url');
    relabelled[0] = 0x02;
    expect(codec.open(TENANT, relabelled.toString('base64url'))).toBeNull();
    // Plain cursors were only issued oldest first.
    expect(codec.open(TENANT, encodeFeedCursor(cursor), 'newest')).toBeNull();
  });

  it('opens cursors sealed under a previous key (HOOKSTREAM_SECRET_KEY_PREVIOUS) and seals under the current one', () => {
    const before = seal([OLD_KEY]).seal(TENANT, { txid: '10', seq: '20' });
    const rotated = seal([KEY, OLD_KEY]);
    expect(rotated.open(TENANT, before)).toEqual({ cursor: { txid: '10', seq: '20' }, format: 'sealed' });
    expect(rotated.seal(TENANT, { txid: '10', seq: '20' })).toBe(
      seal([KEY]).seal(TENANT, { txid: '10', seq: '20' }),
    );
  });

  it('reads the plain e1 cursors issued before only while they are accepted', () => {
    const plain = encodeFeedCursor({ txid: '10', seq: '20' });
    expect(seal([KEY]).open(TENANT, plain)).toEqual({ cursor: { txid: '10', seq: '20' }, format: 'plain' });
    expect(seal([KEY], false).open(TENANT, plain)).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['not base64 at all', '!!!'],
    ['the right length of noise', Buffer.alloc(45, 2).toString('base64url')],
    [
      'a plain cursor past bigint',
      Buffer.from(JSON.stringify(['e1', '1', '9223372036854775808'])).toString('base64url'),
    ],
  ])('refuses %s', (_, text) => {
    expect(seal([KEY]).open(TENANT, text)).toBeNull();
  });
});
