import {
  generateSecret,
  SecretCipher,
  secretBinding,
  type CipherBinding,
  type StoredSecret,
} from './secret-cipher';
import {
  isReadable,
  MAX_PREVIOUS_SECRETS,
  MAX_SIGNING_SECRETS,
  readSigningSecrets,
  secretsKeptByRotation,
} from './signing-secrets';

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

/** A cipher that counts its decryptions: what a cache reload or a rotation costs. */
class CountingCipher extends SecretCipher {
  decrypted = 0;
  override decrypt(secret: StoredSecret, binding: CipherBinding): string {
    this.decrypted += 1;
    return super.decrypt(secret, binding);
  }
}

const HOUR = 3_600_000;
const inHours = (hours: number) => new Date(NOW.getTime() + hours * HOUR).toISOString();

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

  it('signs with at most three secrets, newest first, and never decrypts the others (a row from before the cap)', () => {
    const counting = new CountingCipher([KEY_B]);
    const newest = [generateSecret(), generateSecret(), generateSecret()];
    const row = [
      stored(withB, newest[0]),
      stored(withB, newest[1], inHours(3)),
      stored(withB, newest[2], inHours(2)),
      // Past the cap, and under a key not configured: read, they would make the endpoint unusable.
      ...Array.from({ length: 7 }, () => stored(withA, generateSecret(), inHours(1))),
    ];
    const read = readSigningSecrets(counting, ID, row, NOW);
    expect(MAX_SIGNING_SECRETS).toBe(3);
    expect(read).toEqual({ secrets: newest, secretExpiries: [null, inHours(3), inHours(2)], problem: null });
    expect(counting.decrypted).toBe(3);
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

describe('secretsKeptByRotation', () => {
  const graceEnds = NOW.getTime() + 10 * HOUR;

  it('keeps two earlier secrets, dropping those expiring soonest, in stored order', () => {
    const [current, a, b, c] = [generateSecret(), generateSecret(), generateSecret(), generateSecret()];
    const kept = secretsKeptByRotation(
      withA,
      ID,
      [
        stored(withA, current),
        stored(withA, a, inHours(2)),
        stored(withA, b, inHours(3)),
        stored(withA, c, inHours(1)),
      ],
      NOW,
      graceEnds,
    );
    expect(MAX_PREVIOUS_SECRETS).toBe(2);
    expect(kept.map((secret) => [withA.decrypt(secret, secretBinding(ID)), secret.expiresAt])).toEqual([
      [current, inHours(10)],
      [b, inHours(3)],
    ]);
  });

  it('ends each kept secret by the grace period, never later than it already ended', () => {
    const kept = secretsKeptByRotation(
      withA,
      ID,
      [stored(withA, generateSecret()), stored(withA, generateSecret(), inHours(48))],
      NOW,
      NOW.getTime() + HOUR,
    );
    expect(kept.map((secret) => secret.expiresAt)).toEqual([inHours(1), inHours(1)]);
  });

  it('skips secrets no configured key reads, decrypting only until it has two', () => {
    const counting = new CountingCipher([KEY_B]);
    const [a, b] = [generateSecret(), generateSecret()];
    const kept = secretsKeptByRotation(
      counting,
      ID,
      [
        stored(withA, generateSecret()),
        stored(withB, a, inHours(5)),
        stored(withB, b, inHours(4)),
        ...Array.from({ length: 20 }, () => stored(withB, generateSecret(), inHours(3))),
      ],
      NOW,
      graceEnds,
    );
    expect(kept.map((secret) => withB.decrypt(secret, secretBinding(ID)))).toEqual([a, b]);
    expect(counting.decrypted).toBe(3);
  });

  it('keeps nothing with no grace period, from expired secrets, or from a column that is not a list', () => {
    expect(secretsKeptByRotation(withA, ID, [stored(withA, generateSecret())], NOW, NOW.getTime())).toEqual(
      [],
    );
    expect(
      secretsKeptByRotation(withA, ID, [stored(withA, generateSecret(), EARLIER)], NOW, graceEnds),
    ).toEqual([]);
    expect(secretsKeptByRotation(withA, ID, { x: 1 } as unknown as StoredSecret[], NOW, graceEnds)).toEqual(
      [],
    );
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
