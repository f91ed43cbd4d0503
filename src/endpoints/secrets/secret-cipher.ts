import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { StoredSecret } from '../endpoint.entity';

export type { StoredSecret } from '../endpoint.entity';

const SECRET_PREFIX = 'whsec_';
const IV_BYTES = 12;
/** Fixed on decrypt too (authTagLength), so a stored value can never choose a shorter, forgeable tag. */
const TAG_BYTES = 16;
/** The ciphertext format written now: version 2 binds each value to what it belongs to (AAD). */
export const CIPHER_FORMAT = 2;

/**
 * What a ciphertext belongs to, bound in as associated data (format 2): a value copied into another
 * endpoint's row, or from the secrets column into the headers one, no longer decrypts.
 */
export type CipherBinding = `endpoint/${string}/${'secret' | 'headers'}`;

export function secretBinding(endpointId: string): CipherBinding {
  return `endpoint/${endpointId}/secret`;
}

export function headersBinding(endpointId: string): CipherBinding {
  return `endpoint/${endpointId}/headers`;
}

interface DerivedKey {
  id: string;
  key: Buffer;
}

/**
 * A stored secret that none of the configured keys decrypts: its key is not configured
 * (`key_not_configured`), or the key of that id is but the ciphertext does not authenticate (`damaged`).
 */
export class UndecryptableSecretError extends Error {
  constructor(
    readonly keyId: string,
    readonly why: 'key_not_configured' | 'damaged',
  ) {
    super(
      why === 'key_not_configured'
        ? `secret was encrypted with key ${keyId}, which is not configured ` +
            '(set it in HOOKSTREAM_SECRET_KEY_PREVIOUS)'
        : `secret encrypted with key ${keyId} does not authenticate: the stored ciphertext is damaged`,
    );
    this.name = 'UndecryptableSecretError';
  }
}

/**
 * Encrypts endpoint signing secrets at rest with AES-256-GCM. The first configured key
 * (HOOKSTREAM_SECRET_KEY) encrypts; every key (plus HOOKSTREAM_SECRET_KEY_PREVIOUS) decrypts, found by
 * the key id stored beside each ciphertext, so the master key can be rotated without downtime.
 */
export class SecretCipher {
  private readonly keys: DerivedKey[];

  constructor(keys: string[]) {
    if (keys.length === 0) throw new Error('SecretCipher needs at least one key');
    this.keys = keys.map(deriveKey);
  }

  /** Id of the key that encrypts now; a stored secret with another id is due for re-encryption. */
  get currentKeyId(): string {
    return this.keys[0].id;
  }

  encrypt(plain: string, binding: CipherBinding, now: Date = new Date()): StoredSecret {
    const { id, key } = this.keys[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(CIPHER_FORMAT, id, binding));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return {
      ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'),
      keyId: id,
      format: CIPHER_FORMAT,
      createdAt: now.toISOString(),
      expiresAt: null,
    };
  }

  /** True when `stored` is under the current key in the current format: nothing to re-encrypt. */
  isCurrent(stored: StoredSecret): boolean {
    return stored.keyId === this.currentKeyId && stored.format === CIPHER_FORMAT;
  }

  /** Ids of every configured key, the current one first. */
  get keyIds(): string[] {
    return this.keys.map((key) => key.id);
  }

  /** The plaintext; throws UndecryptableSecretError when no configured key decrypts it. */
  decrypt(stored: StoredSecret, binding: CipherBinding): string {
    const derived = this.keys.find((candidate) => candidate.id === stored.keyId);
    if (!derived) throw new UndecryptableSecretError(stored.keyId, 'key_not_configured');
    const raw = Buffer.from(stored.ciphertext, 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new UndecryptableSecretError(stored.keyId, 'damaged');
    const decipher = createDecipheriv('aes-256-gcm', derived.key, raw.subarray(0, IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(associatedData(stored.format ?? 1, derived.id, binding));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new UndecryptableSecretError(stored.keyId, 'damaged');
    }
  }

  /** Re-encrypts with the current key in the current format (key retirement, format upgrade), keeping dates. */
  reencrypt(stored: StoredSecret, binding: CipherBinding): StoredSecret {
    if (this.isCurrent(stored)) return stored;
    const fresh = this.encrypt(this.decrypt(stored, binding), binding);
    return { ...fresh, createdAt: stored.createdAt, expiresAt: stored.expiresAt };
  }
}

/**
 * Format 1 (before issue 19) bound only the key id, so those rows still decrypt; format 2 binds the
 * format, the key id and what the value belongs to.
 */
function associatedData(format: number, keyId: string, binding: CipherBinding): Buffer {
  return Buffer.from(format === 1 ? keyId : `hookstream/v${format}/${keyId}/${binding}`, 'utf8');
}

function deriveKey(material: string): DerivedKey {
  const key = Buffer.from(
    hkdfSync('sha256', Buffer.from(material, 'utf8'), 'hookstream', 'endpoint-signing-secrets', 32),
  );
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 8), key };
}

/** A new Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** True for `whsec_` + canonical base64 of 24 to 64 bytes. */
export function isValidSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return false;
  const bytes = Buffer.from(encoded, 'base64');
  return bytes.length >= 24 && bytes.length <= 64 && bytes.toString('base64') === encoded;
}

/** The secrets that still sign at `now`: those without an expiry or expiring later. */
export function activeSecrets(stored: StoredSecret[], now: Date): StoredSecret[] {
  return stored.filter((secret) => secret.expiresAt === null || Date.parse(secret.expiresAt) > now.getTime());
}
