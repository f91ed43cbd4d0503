import { createHash } from 'node:crypto';

/**
 * Durable idempotency of `POST /v1/events` (issue 17): which key a request is deduplicated by, the
 * fingerprint of its body, and what a request whose key is already claimed is answered. The claim
 * itself is one PostgreSQL statement (src/ingest/idempotency-keys.repository.ts); this is the
 * part that needs no database.
 */

/** `Idempotency-Key`: visible ASCII like an event id (it is compared as bytes), 255 at most as Stripe's. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEY_RULE = 'must be 1 to 255 visible ASCII characters';

/**
 * A claim still `pending` this long after it was last written belongs to a request that can no
 * longer settle it (its process died, or has not reached PostgreSQL since): a retry may take it
 * over. A write's own process renews its claim every third of this while the write runs, since no
 * kafkajs setting bounds how long an idempotent send can run (it retries without end).
 */
export const ABANDONED_CLAIM_AFTER_MS = 60_000;

/** The key a request is deduplicated by, per tenant; null when it has neither a header nor an id. */
export function idempotencyKeyOf(header: string | undefined, eventId: string | undefined): string | null {
  return header ?? eventId ?? null;
}

/** The fields of the request body that make the event; `data` as parsed, in the client's key order. */
export interface PublishedFields {
  type: string;
  data: unknown;
  id?: string;
  source?: string;
  subject?: string;
  /** The CloudEvents partitioning extension: the event's ordering key. */
  partitionkey?: string;
  time?: string;
}

/**
 * SHA-256 hex of the body's fields, whitespace-insensitive but otherwise exact: the same request
 * sent again hashes the same, and one that would publish a different event does not (a retry
 * without `time` and its original both default it, so they match).
 */
export function requestFingerprint(fields: PublishedFields): string {
  const canonical = JSON.stringify([
    fields.type,
    fields.data ?? null,
    fields.id ?? null,
    fields.source ?? null,
    fields.subject ?? null,
    fields.time ?? null,
    // Only when given, so a request without one hashes as it did before the field existed.
    ...(fields.partitionkey === undefined ? [] : [fields.partitionkey]),
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * A claim's state: `pending` while its event is being written to Kafka, `published` once Kafka
 * acknowledged it, `failed` when the write failed (a retry of the same request takes it over).
 */
export type ClaimState = 'pending' | 'published' | 'failed';

/** A live claim of a key, as stored. */
export interface StoredClaim {
  eventId: string;
  bodyHash: string;
  state: ClaimState;
}

/** What a request whose claim was refused is answered. */
export type ClaimRefusal =
  /** The same request was accepted before: answer with its event id. */
  | { kind: 'replay'; eventId: string }
  /** The key was used for another body within the window. */
  | { kind: 'body_mismatch' }
  /** The same request is being published now by another request. */
  | { kind: 'in_progress' }
  /** The claim was released, failed or expired since the refusal: claim again. */
  | { kind: 'claim_again' };

/** `claim` is the live claim read after the refusal, or null when none is left. */
export function answerToClaimed(claim: StoredClaim | null, bodyHash: string): ClaimRefusal {
  if (claim === null) return { kind: 'claim_again' };
  if (claim.bodyHash !== bodyHash) return { kind: 'body_mismatch' };
  switch (claim.state) {
    case 'published':
      return { kind: 'replay', eventId: claim.eventId };
    case 'pending':
      return { kind: 'in_progress' };
    case 'failed':
      return { kind: 'claim_again' };
  }
}
