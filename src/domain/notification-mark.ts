import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { toStructuredCloudEvent, type PlatformEvent } from './cloud-event';
import { isHookstreamType } from './notifications';

/**
 * Hookstream's own notifications (`hookstream.*` types) travel through the input topic like any
 * platform event, and anyone allowed to write an input topic could write one too. The publisher
 * marks each with a MAC in a record header under a key only Hookstream holds; the fan-out and the
 * window replay take a `hookstream.*` event only with a mark that verifies (docs/security.md,
 * "Notification integrity").
 *
 * The MAC covers the event as parsed (its structured CloudEvents JSON, written again from the parsed
 * fields), not the record's bytes: it binds everything a delivery carries (id, tenant, type, source,
 * subject, time, data), whatever content mode the record used, so headers cannot re-dress a marked
 * value as another event.
 */

/** Versions the MAC input, so a later format cannot be confused with this one. */
const MAC_CONTEXT = 'hookstream-notification-mac-v1';
/** HKDF labels: the same secret key material as the task seal (task-seal.ts), a key of its own. */
const HKDF_SALT = 'hookstream';
const HKDF_INFO = 'notification-mac';
const MAC_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

/** What the fan-out makes of an event's mark. */
export type MarkCheck =
  /** Not a `hookstream.*` type: no mark is needed (one there is ignored). */
  | { kind: 'not-reserved' }
  /** A `hookstream.*` event marked by Hookstream. */
  | { kind: 'marked' }
  /** A `hookstream.*` event without a mark, taken because the upgrade switch is on. */
  | { kind: 'unmarked-accepted' }
  /** A `hookstream.*` event without a mark that verifies: not Hookstream's. */
  | { kind: 'refused'; detail: string };

/**
 * The notification MAC keys, newest first, from HOOKSTREAM_SECRET_KEY and its previous keys: HKDF
 * with a label of its own, so this key, the task key and the secret-encryption key differ.
 */
export function deriveNotificationKeys(secretKeys: readonly string[]): Buffer[] {
  return secretKeys.map((material) =>
    Buffer.from(hkdfSync('sha256', Buffer.from(material, 'utf8'), HKDF_SALT, HKDF_INFO, 32)),
  );
}

export class NotificationMark {
  private readonly keyObjects: readonly KeyObject[];

  /**
   * `keys`: the current key first, then previous ones still accepted (a key rotation).
   * `acceptUnmarked`: take `hookstream.*` events with no mark at all (published by a replica of an
   * older version during a rolling upgrade); a mark that does not verify is refused whatever this says.
   */
  constructor(
    keys: readonly Buffer[],
    private readonly acceptUnmarked = false,
  ) {
    if (keys.length === 0) throw new Error('NotificationMark needs at least one key');
    this.keyObjects = keys.map((key) => createSecretKey(key));
  }

  /** The mark (base64 HMAC-SHA256) of `event` under the current key: the header's value. */
  mark(event: PlatformEvent): string {
    return this.macOf(this.keyObjects[0], event).toString('base64');
  }

  /** `given`: the record's mark header, undefined when it has none. */
  check(event: PlatformEvent, given: string | undefined): MarkCheck {
    if (!isHookstreamType(event.type)) return { kind: 'not-reserved' };
    if (given === undefined) {
      if (this.acceptUnmarked) return { kind: 'unmarked-accepted' };
      return {
        kind: 'refused',
        detail: `${event.type}: hookstream.* types are published by Hookstream only`,
      };
    }
    if (MAC_BASE64.test(given)) {
      const mac = Buffer.from(given, 'base64');
      for (const key of this.keyObjects) {
        if (timingSafeEqual(this.macOf(key, event), mac)) return { kind: 'marked' };
      }
    }
    return { kind: 'refused', detail: `${event.type}: its notification mark does not verify` };
  }

  private macOf(key: KeyObject, event: PlatformEvent): Buffer {
    return createHmac('sha256', key)
      .update(`${MAC_CONTEXT}\u0000`)
      .update(toStructuredCloudEvent(event))
      .digest();
  }
}
