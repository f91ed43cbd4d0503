import {
  HEADER_VALUE_MASK,
  maskedHeaders,
  mergeHeaderUpdate,
  readHeaders,
  sealHeaders,
} from './endpoint-headers';
import { SecretCipher } from './secret-cipher';

const ID = '6c1c3f0e-94c6-4b8f-9d0a-2f1f7e0b9a11';
const cipher = new SecretCipher(['a'.repeat(40)]);

describe('endpoint headers at rest', () => {
  it('seals the values, keeps the names in clear, and reads them back for delivery', () => {
    const columns = sealHeaders(cipher, ID, { 'X-Api-Key': 'receiver-credential-42', Accept: 'json' });
    expect(columns.headerNames).toEqual(['Accept', 'X-Api-Key']);
    expect(JSON.stringify(columns)).not.toContain('receiver-credential-42');
    expect(readHeaders(cipher, ID, columns)).toEqual({
      headers: { 'X-Api-Key': 'receiver-credential-42', Accept: 'json' },
      problem: null,
    });
    expect(maskedHeaders(columns.headerNames)).toEqual({ Accept: '***', 'X-Api-Key': '***' });
  });

  it('stores no ciphertext for no headers, and reads plaintext legacy rows as they are', () => {
    expect(sealHeaders(cipher, ID, {}).sealedHeaders).toBeNull();
    const legacy = { sealedHeaders: null, headerNames: ['X-A'], legacyHeaders: { 'X-A': 'v' } };
    expect(readHeaders(cipher, ID, legacy)).toEqual({ headers: { 'X-A': 'v' }, problem: null });
  });

  it('names a problem, never throws, when the headers belong to another endpoint or key', () => {
    const columns = sealHeaders(cipher, ID, { 'X-A': 'v' });
    const read = readHeaders(cipher, '0f0e0d0c-0b0a-4909-8807-060504030201', columns);
    expect(read.headers).toEqual({});
    expect(read.problem).toMatch(/custom headers cannot be read/);
    expect(readHeaders(new SecretCipher(['b'.repeat(40)]), ID, columns).problem).toMatch(
      /HOOKSTREAM_SECRET_KEY_PREVIOUS/,
    );
  });
});

describe('mergeHeaderUpdate (PATCH)', () => {
  const stored = { 'X-Api-Key': 'old-key', 'X-Team': 'billing' };

  it('keeps a masked value, sets a new one, and drops names left out', () => {
    expect(mergeHeaderUpdate(stored, { 'x-api-key': HEADER_VALUE_MASK, 'X-New': 'n' })).toEqual({
      headers: { 'x-api-key': 'old-key', 'X-New': 'n' },
    });
  });

  it('keeps a header named __proto__ as a header, as a create does', () => {
    const update = JSON.parse('{"__proto__":"x","X-Team":"ops"}') as Record<string, string>;
    const merged = mergeHeaderUpdate(stored, update);
    expect('headers' in merged && Object.entries(merged.headers)).toEqual([
      ['__proto__', 'x'],
      ['X-Team', 'ops'],
    ]);
  });

  it('refuses a mask for a header that has no stored value', () => {
    expect(mergeHeaderUpdate(stored, { 'X-Other': HEADER_VALUE_MASK })).toEqual({ unknownMasked: 'X-Other' });
  });
});
