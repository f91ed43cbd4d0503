import {
  activeSecrets,
  generateSecret,
  isValidSecret,
  SecretCipher,
  UndecryptableSecretError,
  type StoredSecret,
} from './secret-cipher';

const KEY_A = 'a'.repeat(40);
const KEY_B = 'b'.repeat(40);

describe('SecretCipher', () => {
  it('round-trips a secret and never stores the plaintext', () => {
    const cipher = new SecretCipher([KEY_A]);
    const secret = generateSecret();
    const stored = cipher.encrypt(secret);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(6));
    expect(stored.keyId).toMatch(/^[0-9a-f]{8}$/);
    expect(stored.expiresAt).toBeNull();
    expect(cipher.decrypt(stored)).toBe(secret);
  });

  it('uses a fresh IV each time', () => {
    const cipher = new SecretCipher([KEY_A]);
    expect(cipher.encrypt('same').ciphertext).not.toBe(cipher.encrypt('same').ciphertext);
  });

  it('decrypts with a previous key after the master key is rotated, and re-encrypts with the new one', () => {
    const stored = new SecretCipher([KEY_A]).encrypt('whsec_old');
    const rotated = new SecretCipher([KEY_B, KEY_A]);
    expect(rotated.decrypt(stored)).toBe('whsec_old');
    const fresh = rotated.reencrypt(stored);
    expect(fresh.keyId).toBe(rotated.currentKeyId);
    expect(fresh.keyId).not.toBe(stored.keyId);
    expect(new SecretCipher([KEY_B]).decrypt(fresh)).toBe('whsec_old');
  });

  it('names the missing key when the previous key is not configured', () => {
    const stored = new SecretCipher([KEY_A]).encrypt('whsec_old');
    expect(() => new SecretCipher([KEY_B]).decrypt(stored)).toThrow(/HOOKSTREAM_SECRET_KEY_PREVIOUS/);
  });

  it('refuses a tampered ciphertext', () => {
    const cipher = new SecretCipher([KEY_A]);
    const stored = cipher.encrypt('whsec_value');
    const raw = Buffer.from(stored.ciphertext, 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => cipher.decrypt({ ...stored, ciphertext: raw.toString('base64') })).toThrow();
  });

  it('tells a key that is not configured from a damaged ciphertext, naming the key id', () => {
    const cipher = new SecretCipher([KEY_A]);
    const stored = cipher.encrypt('whsec_value');
    const failure = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error;
      }
      throw new Error('expected decrypt to throw');
    };
    const missing = failure(() => new SecretCipher([KEY_B]).decrypt(stored));
    expect(missing).toBeInstanceOf(UndecryptableSecretError);
    expect(missing).toMatchObject({
      keyId: stored.keyId,
      why: 'key_not_configured',
    });
    expect(failure(() => cipher.decrypt({ ...stored, ciphertext: 'c2hvcnQ=' }))).toMatchObject({
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
