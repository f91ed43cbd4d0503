import {
  createHmac,
  createSecretKey,
  hkdfSync,
  timingSafeEqual,
  type Hmac,
  type KeyObject,
} from 'node:crypto';
import { decodeTask, encodeTaskText, type DeliveryTask } from './delivery-task';

/**
 * Delivery tasks carry a MAC under a key only Hookstream holds, so a task written to the
 * deliveries topic, a retry tier or a held row by anyone else is dead-lettered instead of being
 * signed with the endpoint's secret and sent (docs/security.md, "Delivery task integrity").
 *
 * The MAC travels inside the task's bytes, as their last JSON field: `{...task,"mac":"<base64>"}`.
 * Every place that moves a task's bytes (Kafka values, held and parked rows, the DLQ) keeps it with
 * no column or header of its own, and readers that only parse the JSON see one more field.
 * It covers the task's bytes without that field, bound to its endpoint and tenant.
 */

/** `,"mac":"` + 44 base64 characters of HMAC-SHA256 + `"}`. */
const MAC_FIELD_PREFIX = Buffer.from(',"mac":"');
const MAC_BASE64_LENGTH = 44;
const MAC_TAIL_LENGTH = MAC_FIELD_PREFIX.length + MAC_BASE64_LENGTH + 2;
const MAC_TAIL = /^,"mac":"[A-Za-z0-9+/]{43}="}$/;
const CLOSING_BRACE = Buffer.from('}');
/** Versions the MAC input, so a later format cannot be confused with this one. */
const MAC_CONTEXT = 'hookstream-task-mac-v1';
/** HKDF labels: the same secret key material, a key of its own for each use (secret-cipher.ts has the other). */
const HKDF_SALT = 'hookstream';
const HKDF_INFO = 'delivery-task-mac';

/** A task that decoded but whose MAC is missing or matches no configured key. */
export class UnauthenticatedTask extends Error {
  constructor(
    message: string,
    readonly task: DeliveryTask,
  ) {
    super(message);
    this.name = 'UnauthenticatedTask';
  }
}

/** A task read back: `sealed` false only for a task without a MAC accepted during an upgrade. */
export interface OpenedTask {
  task: DeliveryTask;
  sealed: boolean;
}

/**
 * The task MAC keys, newest first, from HOOKSTREAM_SECRET_KEY and its previous keys: HKDF with a
 * label of its own, so the task key and the secret-encryption key are never the same bytes.
 */
export function deriveTaskKeys(secretKeys: readonly string[]): Buffer[] {
  return secretKeys.map((material) =>
    Buffer.from(hkdfSync('sha256', Buffer.from(material, 'utf8'), HKDF_SALT, HKDF_INFO, 32)),
  );
}

export class TaskSeal {
  /** Imported once: createHmac with a Buffer imports the key again on every call. */
  private readonly keyObjects: readonly KeyObject[];

  /**
   * `keys`: the current key first, then previous ones still accepted (a key rotation).
   * `acceptUnsealed`: take tasks with no MAC at all (written by a replica of an older version during
   * a rolling upgrade); a MAC that does not verify is refused whatever this says.
   */
  constructor(
    private readonly keys: readonly Buffer[],
    private readonly acceptUnsealed = false,
  ) {
    if (keys.length === 0) throw new Error('TaskSeal needs at least one key');
    this.keyObjects = keys.map((key) => createSecretKey(key));
  }

  /** The task's bytes with its MAC under the current key. */
  seal(task: DeliveryTask): Buffer {
    // The MAC is taken over the JSON text and the sealed text encoded once: the same bytes as
    // encodeTask's with the MAC field spliced in, without encoding, copying and concatenating them.
    const json = encodeTaskText(task);
    const mac = this.macOf(this.keyObjects[0], task).update(json, 'utf8').digest('base64');
    return Buffer.from(`${json.slice(0, -1)},"mac":"${mac}"}`, 'utf8');
  }

  /**
   * Decodes and verifies a task's bytes. Throws a plain Error when they are not a task at all, and
   * UnauthenticatedTask when they are one without a valid MAC.
   */
  open(value: Buffer | null): OpenedTask {
    const task = decodeTask(value);
    const bytes = value!;
    const tail = bytes.length > MAC_TAIL_LENGTH ? bytes.subarray(bytes.length - MAC_TAIL_LENGTH) : null;
    if (tail === null || !MAC_TAIL.test(tail.toString('latin1'))) {
      if (this.acceptUnsealed) return { task, sealed: false };
      throw new UnauthenticatedTask('delivery task has no MAC', task);
    }
    const given = Buffer.from(tail.subarray(MAC_FIELD_PREFIX.length, -2).toString('latin1'), 'base64');
    // The covered bytes are the task without its MAC field: fed to the HMAC in two pieces, not copied.
    const head = bytes.subarray(0, bytes.length - MAC_TAIL_LENGTH);
    for (const key of this.keyObjects) {
      const mac = this.macOf(key, task).update(head).update(CLOSING_BRACE).digest();
      if (timingSafeEqual(mac, given)) return { task, sealed: true };
    }
    throw new UnauthenticatedTask('delivery task MAC does not verify', task);
  }

  /**
   * The task's bytes sealed under the current key, or null when they are already: for a task that
   * waits in PostgreSQL (parked, held) across a key rotation, so the retired key can go. Throws as
   * {@link open} does for bytes that do not verify under any configured key.
   */
  reseal(value: Buffer): Buffer | null {
    const { task } = this.open(value);
    const sealed = this.seal(task);
    return sealed.equals(value) ? null : sealed;
  }

  /**
   * An HMAC started with the task's binding; the caller feeds it the covered bytes. Bound to the
   * endpoint and tenant the task names: the same bytes cannot be read as another's.
   */
  private macOf(key: KeyObject, task: DeliveryTask): Hmac {
    return createHmac('sha256', key).update(
      `${MAC_CONTEXT}\u0000${task.endpointId}\u0000${task.tenantId}\u0000`,
    );
  }
}
