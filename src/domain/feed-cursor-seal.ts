import { createCipheriv, createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { decodeFeedCursor, type FeedCursor, type FeedOrder } from './event-feed';

/**
 * The events feed's cursor as clients see it: the position (txid, seq) encrypted with AES-256-GCM
 * under a key derived from HOOKSTREAM_SECRET_KEY, the tenant id bound in as associated data. Both
 * numbers are platform-wide counters (the cluster's transaction counter, a bigserial every tenant
 * shares): in clear, two cursors tell a tenant how much everyone else published in between.
 *
 * The IV is an HMAC of the tenant and the position (a synthetic IV): the same position always gives
 * the same text, so an idle poll hands the caller's cursor back unchanged, and two positions only
 * share an IV when the 96-bit HMAC prefixes collide (about 2^48 cursors).
 *
 * `[format][iv 12][ciphertext 16][tag 16]`, base64url: 60 characters. The format byte and the
 * associated data say which order the cursor pages in (0x02 oldest first, 0x03 newest first): a
 * newest-first cursor means "before this row", and given to the oldest-first feed it would list
 * again what its reader already has, so each order opens only its own.
 */
const FORMATS: Record<FeedOrder, number> = { oldest: 0x02, newest: 0x03 };
const AAD_CONTEXTS: Record<FeedOrder, string> = {
  oldest: 'hookstream-feed-cursor-v2',
  newest: 'hookstream-feed-cursor-newest-v1',
};
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PLAIN_BYTES = 16;
const SEALED_BYTES = 1 + IV_BYTES + PLAIN_BYTES + TAG_BYTES;
const BIGINT_MAX = 9_223_372_036_854_775_807n;
/** HKDF labels: a key of its own, never the bytes of the task MAC or the secret-encryption key. */
const HKDF_SALT = 'hookstream';
const HKDF_INFO = 'feed-cursor-v2';

export interface FeedCursorKey {
  encryption: Buffer;
  iv: Buffer;
}

/** The cursor keys, newest first, from HOOKSTREAM_SECRET_KEY and HOOKSTREAM_SECRET_KEY_PREVIOUS. */
export function deriveFeedCursorKeys(secretKeys: readonly string[]): FeedCursorKey[] {
  return secretKeys.map((material) => {
    const bytes = Buffer.from(hkdfSync('sha256', Buffer.from(material, 'utf8'), HKDF_SALT, HKDF_INFO, 64));
    return { encryption: bytes.subarray(0, 32), iv: bytes.subarray(32) };
  });
}

/** How a cursor text was read: `plain` for the unencrypted `e1` format issued before. */
export type OpenedFeedCursor = { cursor: FeedCursor; format: 'sealed' | 'plain' };

export class FeedCursorSeal {
  /**
   * `keys`: the current key first (it seals), then previous ones still accepted (a key rotation).
   * `acceptPlain`: read the unencrypted `e1` cursors issued before, so kept cursors survive the
   * upgrade; off once every client has polled since (HOOKSTREAM_ACCEPT_PLAIN_CURSORS).
   */
  constructor(
    private readonly keys: readonly FeedCursorKey[],
    private readonly acceptPlain: boolean,
  ) {
    if (keys.length === 0) throw new Error('FeedCursorSeal needs at least one key');
  }

  /** `order`: the order the pages read from this cursor go in. */
  seal(tenantId: string, cursor: FeedCursor, order: FeedOrder = 'oldest'): string {
    const key = this.keys[0];
    const plain = Buffer.alloc(PLAIN_BYTES);
    plain.writeBigUInt64BE(BigInt(cursor.txid), 0);
    plain.writeBigUInt64BE(BigInt(cursor.seq), 8);
    const aad = associatedData(tenantId, order);
    const iv = createHmac('sha256', key.iv).update(aad).update(plain).digest().subarray(0, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.encryption, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMATS[order]), iv, body, cipher.getAuthTag()]).toString('base64url');
  }

  /**
   * null when `text` is no cursor this service issued to this tenant for pages in `order` (or a
   * plain one, refused; plain cursors were only ever issued oldest first).
   */
  open(tenantId: string, text: string, order: FeedOrder = 'oldest'): OpenedFeedCursor | null {
    const raw = Buffer.from(text, 'base64url');
    if (raw.length === SEALED_BYTES && raw[0] === FORMATS[order]) {
      const cursor = this.decrypt(associatedData(tenantId, order), raw);
      return cursor === null ? null : { cursor, format: 'sealed' };
    }
    if (!this.acceptPlain || order !== 'oldest') return null;
    const cursor = decodeFeedCursor(text);
    return cursor === null ? null : { cursor, format: 'plain' };
  }

  private decrypt(aad: Buffer, raw: Buffer): FeedCursor | null {
    const iv = raw.subarray(1, 1 + IV_BYTES);
    const body = raw.subarray(1 + IV_BYTES, 1 + IV_BYTES + PLAIN_BYTES);
    const tag = raw.subarray(1 + IV_BYTES + PLAIN_BYTES);
    for (const key of this.keys) {
      const decipher = createDecipheriv('aes-256-gcm', key.encryption, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        continue;
      }
      const seq = plain.readBigUInt64BE(8);
      // Only this service seals, and never a seq past bigint; checked anyway, as the query would fail.
      if (seq > BIGINT_MAX) return null;
      return { txid: plain.readBigUInt64BE(0).toString(), seq: seq.toString() };
    }
    return null;
  }
}

/** The tenant is bound in: another tenant's cursor does not open (it would only position its feed). */
function associatedData(tenantId: string, order: FeedOrder): Buffer {
  return Buffer.from(`${AAD_CONTEXTS[order]}\u0000${tenantId.toLowerCase()}`, 'utf8');
}
