import { decodeWebhookSecret } from '../../domain/standard-webhooks';
import {
  activeSecrets,
  secretBinding,
  UndecryptableSecretError,
  type SecretCipher,
  type StoredSecret,
} from './secret-cipher';

/** An endpoint's signing secrets as delivery uses them, or why it cannot. */
export interface SigningSecrets {
  /** Decrypted active secrets, newest first; empty when `problem` is set. */
  secrets: string[];
  /** ISO expiry of each entry of `secrets` (null: no expiry), same order. */
  secretExpiries: (string | null)[];
  /** Why the endpoint cannot sign now, in a sentence its tenant and the operator can act on; or null. */
  problem: string | null;
}

const ROTATE = "rotate the endpoint's secret to replace it";

/**
 * Earlier secrets a rotation keeps signing beside the new one. Each costs every delivery one HMAC
 * of the body and about 50 bytes of `webhook-signature`: with no cap, 2,000 rotations in a day made
 * one 256 KiB delivery take 1.1 s of synchronous HMAC and a 96 KB header (review 8 F1). Two rather
 * than Svix's one: a second rotation within the grace period (the first new secret mistyped or
 * leaked) still leaves receivers holding the secret from before the first one verifying.
 */
export const MAX_PREVIOUS_SECRETS = 2;
/** The most secrets that sign one delivery: the current one and {@link MAX_PREVIOUS_SECRETS}. */
export const MAX_SIGNING_SECRETS = MAX_PREVIOUS_SECRETS + 1;

/**
 * The stored secrets that sign at `now`: the active ones, at most {@link MAX_SIGNING_SECRETS}, newest
 * first (every writer puts a new secret in front). A row written before the cap can hold more; those
 * past it sign nothing and are never decrypted.
 */
export function signingSecrets(stored: StoredSecret[], now: Date): StoredSecret[] {
  return activeSecrets(stored, now).slice(0, MAX_SIGNING_SECRETS);
}

/**
 * The earlier secrets that keep signing after a rotation at `now` whose grace period ends at
 * `graceEndsMs`: the active ones that decrypt, each expiring by then at the latest (never later than
 * it already did), at most {@link MAX_PREVIOUS_SECRETS}; past that, those expiring soonest are
 * dropped. Decrypts only until it has that many. In stored order (newest first); a jsonb value that
 * is not a list keeps nothing.
 */
export function secretsKeptByRotation(
  cipher: SecretCipher,
  endpointId: string,
  stored: StoredSecret[],
  now: Date,
  graceEndsMs: number,
): StoredSecret[] {
  const previous = Array.isArray(stored) ? activeSecrets(stored, now) : [];
  const clamped = activeSecrets(
    previous.map((old) => ({
      ...old,
      expiresAt: new Date(
        Math.min(old.expiresAt === null ? graceEndsMs : Date.parse(old.expiresAt), graceEndsMs),
      ).toISOString(),
    })),
    now,
  );
  // Every one has an expiry now. A stable sort: equal expiries keep their stored order.
  const latestFirst = [...clamped].sort(
    (a, b) => Date.parse(b.expiresAt as string) - Date.parse(a.expiresAt as string),
  );
  const kept = new Set<StoredSecret>();
  for (const candidate of latestFirst) {
    if (kept.size === MAX_PREVIOUS_SECRETS) break;
    if (isReadable(cipher, endpointId, candidate)) kept.add(candidate);
  }
  return clamped.filter((secret) => kept.has(secret));
}

/**
 * Decrypts the secrets that sign at `now` ({@link signingSecrets}: at most MAX_SIGNING_SECRETS).
 * Every one of them must decrypt to a secret the signer accepts: signing with only some would fail
 * receivers still verifying with the others, so one unreadable secret makes the endpoint unusable
 * until it is fixed. Never throws: a malformed `stored` value (not a list of stored secrets) is a
 * problem too.
 */
export function readSigningSecrets(
  cipher: SecretCipher,
  endpointId: string,
  stored: StoredSecret[],
  now: Date,
): SigningSecrets {
  try {
    return readOrThrow(cipher, endpointId, stored, now);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return unusable(`its stored signing secrets cannot be read (${why.slice(0, 200)}); ${ROTATE}`);
  }
}

function readOrThrow(
  cipher: SecretCipher,
  endpointId: string,
  stored: StoredSecret[],
  now: Date,
): SigningSecrets {
  const active = signingSecrets(stored, now);
  if (active.length === 0) {
    return unusable("it has no active signing secret; rotate the endpoint's secret to give it one");
  }
  const missingKeys = new Set<string>();
  const damagedKeys = new Set<string>();
  let invalid = false;
  const secrets: string[] = [];
  for (const secret of active) {
    const read = readOne(cipher, endpointId, secret);
    if (read.kind === 'plain') secrets.push(read.plain);
    else if (read.kind === 'invalid') invalid = true;
    else (read.error.why === 'key_not_configured' ? missingKeys : damagedKeys).add(read.error.keyId);
  }
  const problems: string[] = [];
  if (missingKeys.size > 0) problems.push(keysNotConfiguredProblem([...missingKeys]));
  if (damagedKeys.size > 0) {
    problems.push(
      `its signing secret encrypted with ${keyList([...damagedKeys])} does not authenticate with ` +
        `that key (the stored ciphertext is damaged); ${ROTATE}`,
    );
  }
  if (invalid) {
    problems.push(`its signing secret decrypts to something that is not a whsec_ secret; ${ROTATE}`);
  }
  if (problems.length > 0) return unusable(problems.join('. '));
  return { secrets, secretExpiries: active.map((secret) => secret.expiresAt), problem: null };
}

/** The problem of an endpoint whose secret was encrypted with keys no longer configured. */
function keysNotConfiguredProblem(keyIds: string[]): string {
  return (
    `its signing secret was encrypted with ${keyList(keyIds)}, which no configured key ` +
    '(HOOKSTREAM_SECRET_KEY, HOOKSTREAM_SECRET_KEY_PREVIOUS) decrypts; to fix it, run ' +
    '`npm run secrets:reencrypt` with that old key in HOOKSTREAM_SECRET_KEY_PREVIOUS, ' +
    `or ${ROTATE}`
  );
}

/** True when `stored` decrypts, with a configured key, to a secret the signer accepts. */
export function isReadable(cipher: SecretCipher, endpointId: string, stored: StoredSecret): boolean {
  try {
    return readOne(cipher, endpointId, stored).kind === 'plain';
  } catch {
    return false; // malformed
  }
}

type ReadOne =
  | { kind: 'plain'; plain: string }
  | { kind: 'invalid' }
  | { kind: 'undecryptable'; error: UndecryptableSecretError };

function readOne(cipher: SecretCipher, endpointId: string, stored: StoredSecret): ReadOne {
  let plain: string;
  try {
    plain = cipher.decrypt(stored, secretBinding(endpointId));
  } catch (error) {
    if (error instanceof UndecryptableSecretError) return { kind: 'undecryptable', error };
    throw error;
  }
  try {
    decodeWebhookSecret(plain);
    return { kind: 'plain', plain };
  } catch {
    return { kind: 'invalid' };
  }
}

function unusable(problem: string): SigningSecrets {
  return { secrets: [], secretExpiries: [], problem };
}

function keyList(keyIds: string[]): string {
  return keyIds.length === 1 ? `key ${keyIds[0]}` : `keys ${keyIds.join(', ')}`;
}
