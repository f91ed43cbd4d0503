import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import {
  activeSecrets,
  generateSecret,
  isValidSecret,
  SecretCipher,
  secretBinding,
  UndecryptableSecretError,
  type StoredSecret,
} from './secret-cipher';

const KEY_A = 'a'.repeat(40);
const KEY_B = 'b'.repeat(40);
const B = secretBinding('6c1c3f0e-94c6-4b8f-9d0a-2f1f7e0b9a11');

describe('SecretCipher', () => {
  it('round-trips a secret and never stores the plaintext', () => {
    const cipher = new SecretCipher([KEY_A]);
    const secret = generateSecret();
    const stored = cipher.encrypt(secret, B);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(6));
    expect(stored.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(stored.expiresAt).toBeNull();
    expect(cipher.decrypt(stored, B)).toBe(secret);
  });

  it('uses a fresh IV each time', () => {
    const cipher = new SecretCipher([KEY_A]);
    expect(cipher.encrypt('same', B).ciphertext).not.toBe(cipher.encrypt('same', B).ciphertext);
  });

  it('decrypts with a previous key after the master key is rotated, and re-encrypts with the new one', () => {
    const stored = new SecretCipher([KEY_A]).encrypt('whsec_old', B);
    const rotated = new SecretCipher([KEY_B, KEY_A]);
    expect(rotated.decrypt(stored, B)).toBe('whsec_old');
    const fresh = rotated.reencrypt(stored, B);
    expect(fresh.keyId).toBe(rotated.currentKeyId);
    expect(fresh.keyId).not.toBe(stored.keyId);
    expect(new SecretCipher([KEY_B]).decrypt(fresh, B)).toBe('whsec_old');
  });

  it('names the missing key when the previous key is not configured', () => {
    const stored = new SecretCipher([KEY_A]).encrypt('whsec_old', B);
    expect(() => new SecretCipher([KEY_B]).decrypt(stored, B)).toThrow(/HOOKSTREAM_SECRET_KEY_PREVIOUS/);
  });

  it('refuses a tampered ciphertext', () => {
    const cipher = new SecretCipher([KEY_A]);
    const stored = cipher.encrypt('whsec_value', B);
    const raw = Buffer.from(stored.ciphertext, 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => cipher.decrypt({ ...stored, ciphertext: raw.toString('base64') }, B)).toThrow();
  });

  it('tells a key that is not configured from a damaged ciphertext, naming the key id', () => {
    const cipher = new SecretCipher([KEY_A]);
    const stored = cipher.encrypt('whsec_value', B);
    const failure = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error;
      }
      throw new Error('expected decrypt to throw');
    };
    const missing = failure(() => new SecretCipher([KEY_B]).decrypt(stored, B));
    expect(missing).toBeInstanceOf(UndecryptableSecretError);
    expect(missing).toMatchObject({
      keyId: stored.keyId,
      why: 'key_not_configured',
    });
    expect(failure(() => cipher.decrypt({ ...stored, ciphertext: 'c2hvcnQ=' }, B))).toMatchObject({
      keyId: stored.keyId,
      why: 'damaged',
    });
  });

  it('lists the configured key ids, the current one first', () => {
    const cipher = new SecretCipher([KEY_B, KEY_A]);
    expect(cipher.keyIds).toEqual([cipher.currentKeyId, new SecretCipher([KEY_A]).currentKeyId]);
  });
});

describe('generateSecret / isValidSecret', () => {
  it('generates whsec_ + base64 of 32 bytes', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(isValidSecret(secret)).toBe(true);
  });

  it.each([
    ['24 bytes', `whsec_${Buffer.alloc(24, 1).toString('base64')}`, true],
    ['64 bytes', `whsec_${Buffer.alloc(64, 1).toString('base64')}`, true],
    ['23 bytes', `whsec_${Buffer.alloc(23, 1).toString('base64')}`, false],
    ['65 bytes', `whsec_${Buffer.alloc(65, 1).toString('base64')}`, false],
    ['no prefix', Buffer.alloc(32, 1).toString('base64'), false],
    ['not base64', `whsec_${'!'.repeat(44)}`, false],
    ['bad padding', `whsec_${Buffer.alloc(32, 1).toString('base64').slice(0, -1)}`, false],
    ['empty', 'whsec_', false],
  ])('%s', (_label, secret, valid) => {
    expect(isValidSecret(secret)).toBe(valid);
  });
});

describe('activeSecrets', () => {
  const now = new Date('2025-01-01T12:00:00Z');
  const secret = (expiresAt: string | null): StoredSecret => ({
    ciphertext: 'x',
    keyId: 'k',
    createdAt: '2025-01-01T00:00:00Z',
    expiresAt,
  });

  it('keeps secrets without an expiry or expiring later, drops the rest', () => {
    const current = secret(null);
    const grace = secret('2025-01-01T12:00:01Z');
    const expired = secret('2025-01-01T12:00:00Z');
    expect(activeSecrets([current, grace, expired], now)).toEqual([current, grace]);
  });
});

describe('SecretCipher format 2 (issue 19)', () => {
  const cipher = new SecretCipher([KEY_A]);
  const other = secretBinding('0f0e0d0c-0b0a-4909-8807-060504030201');

  it('binds a value to its endpoint: copied into another row it does not decrypt', () => {
    const stored = cipher.encrypt('whsec_value', B);
    expect(stored.format).toBe(2);
    expect(() => cipher.decrypt(stored, other)).toThrow(UndecryptableSecretError);
  });

  it('still decrypts a format-1 value (key id only as associated data) and re-encrypts it to format 2', () => {
    const v1 = legacyEncrypt(KEY_A, 'whsec_old', cipher.currentKeyId);
    expect(cipher.decrypt(v1, B)).toBe('whsec_old');
    expect(cipher.isCurrent(v1)).toBe(false);
    const upgraded = cipher.reencrypt(v1, B);
    expect(upgraded).toMatchObject({ format: 2, keyId: cipher.currentKeyId, createdAt: v1.createdAt });
    expect(cipher.decrypt(upgraded, B)).toBe('whsec_old');
  });

  it('refuses a ciphertext whose tag was cut short (the tag length is fixed at 16)', () => {
    const stored = cipher.encrypt('whsec_value', B);
    const raw = Buffer.from(stored.ciphertext, 'base64');
    // iv (12) + the first 4 tag bytes only, no body: a 4-byte tag would be accepted without a fixed length.
    const cut = Buffer.concat([raw.subarray(0, 12), raw.subarray(12, 16), raw.subarray(28)]);
    expect(() => cipher.decrypt({ ...stored, ciphertext: cut.toString('base64') }, B)).toThrow(
      UndecryptableSecretError,
    );
  });
});

/** A value as SecretCipher wrote it before format 2, for the compatibility test. */
function legacyEncrypt(material: string, plain: string, keyId: string): StoredSecret {
  const key = Buffer.from(
    hkdfSync('sha256', Buffer.from(material), 'hookstream', 'endpoint-signing-secrets', 32),
  );
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(keyId));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return {
    ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'),
    keyId,
    createdAt: '2026-01-01T00:00:00.000Z',
    expiresAt: null,
  };
}
