import { createHash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'hs_';
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 8;

export interface NewApiKey {
  /** The key itself: shown to the client once, never stored. */
  key: string;
  /** SHA-256 hex of the key: what api_keys.key_hash holds. */
  hash: string;
  /** The first characters, so keys can be told apart in listings and logs. */
  prefix: string;
}

/** A tenant API key: `hs_` + base64url of 32 random bytes. */
export function generateApiKey(): NewApiKey {
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: hashApiKey(key), prefix: key.slice(0, DISPLAY_PREFIX_LENGTH) };
}

/** Keys carry 256 bits of entropy, so a fast hash is enough (nothing to brute-force). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
