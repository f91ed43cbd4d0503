import { generateSecret, SecretCipher, secretBinding, type StoredSecret } from './secret-cipher';
import { isReadable, readSigningSecrets } from './signing-secrets';

const KEY_A = 'a'.repeat(40);
const KEY_B = 'b'.repeat(40);
const NOW = new Date('2026-03-01T12:00:00Z');
const LATER = '2026-03-02T12:00:00.000Z';
const EARLIER = '2026-03-01T11:00:00.000Z';

const ID = '6c1c3f0e-94c6-4b8f-9d0a-2f1f7e0b9a11';
const withA = new SecretCipher([KEY_A]);
const withB = new SecretCipher([KEY_B]);
const withBThenA = new SecretCipher([KEY_B, KEY_A]);

function stored(cipher: SecretCipher, plain: string, expiresAt: string | null = null): StoredSecret {
  return { ...cipher.encrypt(plain, secretBinding(ID), NOW), expiresAt };
}

describe('readSigningSecrets', () => {
  it('decrypts every active secret, newest first, with its expiry', () => {
    const current = generateSecret();
    const previous = generateSecret();
    const read = readSigningSecrets(
      withBThenA,
      ID,
      [stored(withB, current), stored(withA, previous, LATER), stored(withA, generateSecret(), EARLIER)],
      NOW,
    );
    expect(read).toEqual({ secrets: [current, previous], secretExpiries: [null, LATER], problem: null });
  });

  it('names the key a secret was encrypted with when no configured key decrypts it, and the fix', () => {
    const plain = generateSecret();
    const read = readSigningSecrets(withB, ID, [stored(withA, plain)], NOW);
    expect(read.secrets).toEqual([]);
    expect(read.secretExpiries).toEqual([]);
    expect(read.problem).toContain(`encrypted with key ${withA.currentKeyId}`);
    expect(read.problem).toMatch(
      /which no configured key \(HOOKSTREAM_SECRET_KEY, HOOKSTREAM_SECRET_KEY_PREVIOUS\) decrypts/,
    );
    expect(read.problem).toMatch(
      /run `npm run secrets:reencrypt` with that old key in HOOKSTREAM_SECRET_KEY_PREVIOUS/,
    );
    expect(read.problem).not.toContain(plain.slice(6));
  });

  it('makes the endpoint unusable when only its grace-period secret is unreadable (never signs with some)', () => {
    const read = readSigningSecrets(
      withB,
      ID,
      [stored(withB, generateSecret()), stored(withA, generateSecret(), LATER)],
      NOW,
    );
    expect(read.secrets).toEqual([]);
    expect(read.problem).toContain(`key ${withA.currentKeyId}`);
  });

  it('ignores an expired secret no configured key decrypts: it signs nothing', () => {
    const current = generateSecret();
    const read = readSigningSecrets(
      withB,
      ID,
      [stored(withB, current), stored(withA, generateSecret(), EARLIER)],
      NOW,
    );
    expect(read).toEqual({ secrets: [current], secretExpiries: [null], problem: null });
  });

  it('lists every missing key once', () => {
    const third = new SecretCipher(['c'.repeat(40)]);
    const read = readSigningSecrets(
      withB,
      ID,
      [
        stored(withA, generateSecret()),
        stored(third, generateSecret(), LATER),
        stored(withA, generateSecret(), LATER),
      ],
      NOW,
    );
    expect(read.problem).toContain(`encrypted with keys ${withA.currentKeyId}, ${third.currentKeyId}, which`);
  });

  it('calls a ciphertext that does not authenticate damaged, and offers rotation (not the script)', () => {
    const secret = stored(withA, generateSecret());
    const raw = Buffer.from(secret.ciphertext, 'base64');
    raw[raw.length - 1] ^= 1;
    const read = readSigningSecrets(withA, ID, [{ ...secret, ciphertext: raw.toString('base64') }], NOW);
    expect(read.secrets).toEqual([]);
    expect(read.problem).toMatch(/does not authenticate .*damaged.*rotate the endpoint's secret/);
    expect(read.problem).not.toContain('secrets:reencrypt');
  });

  it('refuses a secret that decrypts to something the signer would not accept', () => {
    const read = readSigningSecrets(withA, ID, [stored(withA, 'not-a-webhook-secret')], NOW);
    expect(read.secrets).toEqual([]);
    expect(read.problem).toMatch(/not a whsec_ secret/);
    expect(read.problem).not.toContain('not-a-webhook-secret');
  });

  it('reports an endpoint with no active secret', () => {
    const read = readSigningSecrets(withA, ID, [stored(withA, generateSecret(), EARLIER)], NOW);
    expect(read.secrets).toEqual([]);
    expect(read.problem).toMatch(/no active signing secret/);
  });

  it.each([
    ['not a list', { ciphertext: 'x' } as unknown as StoredSecret[]],
    ['null', null as unknown as StoredSecret[]],
    [
      'an entry without ciphertext',
      [{ keyId: withA.currentKeyId, expiresAt: null }] as unknown as StoredSecret[],
    ],
  ])('turns a malformed secrets column (%s) into a problem instead of throwing', (_label, value) => {
    const read = readSigningSecrets(withA, ID, value, NOW);
    expect(read.secrets).toEqual([]);
    expect(read.problem).toMatch(/^its stored signing secrets cannot be read \(.+\); rotate/);
  });
});

describe('isReadable', () => {
  it('is true only for a secret a configured key decrypts to a valid whsec_ secret', () => {
    expect(isReadable(withBThenA, ID, stored(withA, generateSecret()))).toBe(true);
    expect(isReadable(withB, ID, stored(withA, generateSecret()))).toBe(false);
    expect(isReadable(withA, ID, stored(withA, 'plain text'))).toBe(false);
    expect(isReadable(withA, ID, {} as StoredSecret)).toBe(false);
  });
});
