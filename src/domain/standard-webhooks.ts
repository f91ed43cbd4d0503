import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { BoundedMemo } from './bounded-memo';

/** Standard Webhooks (https://www.standardwebhooks.com) signing, version `v1` (HMAC-SHA256). */

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** The spec asks for 24 to 64 bytes of key; we generate 32. */
export const MIN_SECRET_BYTES = 24;
const GENERATED_SECRET_BYTES = 32;

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface SignPayloadInput {
  /** The event id: the same on every attempt and replay, so receivers can drop duplicates. */
  id: string;
  /** Unix seconds of this attempt. */
  timestampSeconds: number;
  /** The exact request body bytes (as a UTF-8 string) that will be sent. */
  body: string;
  /** `whsec_<base64>` secrets; more than one during a rotation grace period. */
  secrets: string[];
}

export class InvalidWebhookSecretError extends Error {
  constructor(reason: string) {
    // Never include the secret itself: error messages end up in logs.
    super(`invalid webhook secret: ${reason}`);
    this.name = 'InvalidWebhookSecretError';
  }
}

/** Decodes `whsec_<base64>` into the HMAC key. Throws {@link InvalidWebhookSecretError}. */
export function decodeWebhookSecret(secret: string): Buffer {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new InvalidWebhookSecretError(`must start with "${WEBHOOK_SECRET_PREFIX}"`);
  }
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  // Buffer.from(..., 'base64') silently skips bad characters; receivers' decoders may not.
  if (encoded.length === 0 || !CANONICAL_BASE64.test(encoded)) {
    throw new InvalidWebhookSecretError('must be whsec_ followed by padded standard base64');
  }
  return Buffer.from(encoded, 'base64');
}

/** True when the secret is well formed and carries at least {@link MIN_SECRET_BYTES} bytes of key. */
export function isValidWebhookSecret(secret: string): boolean {
  try {
    return decodeWebhookSecret(secret).length >= MIN_SECRET_BYTES;
  } catch {
    return false;
  }
}

/** A fresh `whsec_` secret from the CSPRNG. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(GENERATED_SECRET_BYTES).toString('base64');
}

/**
 * HMAC keys by secret, decoded and imported once rather than on every delivery (the base64 check,
 * the decode and the key import were a third of signing's cost).
 */
const hmacKeys = new BoundedMemo<string, KeyObject>(10_000, (secret) =>
  createSecretKey(decodeWebhookSecret(secret)),
);

/** The `webhook-signature` header value: `v1,<sig>` per secret, space-separated. */
export function signPayload(input: SignPayloadInput): string {
  const { id, timestampSeconds, body, secrets } = input;
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new RangeError(`timestampSeconds must be a non-negative integer, got ${timestampSeconds}`);
  }
  if (secrets.length === 0) {
    throw new InvalidWebhookSecretError('at least one secret is required to sign');
  }
  const signedContent = `${id}.${timestampSeconds}.${body}`;
  let signature = '';
  for (const secret of secrets) {
    const mac = createHmac('sha256', hmacKeys.get(secret)).update(signedContent, 'utf8').digest('base64');
    signature = signature === '' ? `v1,${mac}` : `${signature} v1,${mac}`;
  }
  return signature;
}

/** The three Standard Webhooks headers, after `base` (an endpoint's own headers) in one new object. */
export function buildWebhookHeaders(
  input: SignPayloadInput,
  base: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ...base,
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestampSeconds),
    'webhook-signature': signPayload(input),
  };
}
