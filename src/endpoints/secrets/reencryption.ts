import { readHeaders, sealHeaders, type SealedHeaderColumns } from './endpoint-headers';
import { headersBinding, secretBinding, type SecretCipher, type StoredSecret } from './secret-cipher';
import { readSigningSecrets, signingSecrets } from './signing-secrets';

/** The sealed columns of one endpoint row. */
export interface SealedColumns extends SealedHeaderColumns {
  id: string;
  secrets: StoredSecret[];
}

/** The columns to write: re-encrypted secrets, and headers sealed under the current key. */
export type SealedChanges = Partial<
  Pick<SealedColumns, 'secrets' | 'sealedHeaders' | 'headerNames' | 'legacyHeaders'>
>;

/** What re-encrypting one endpoint's secrets under the current key comes to. */
export type ReencryptionPlan =
  /** Every stored secret is under the current key already: nothing to write. */
  | { outcome: 'current' }
  /**
   * Write `secrets`: the ones that sign under the current key (dates kept), expired ones dropped
   * (counted in `expiredDropped`, as are active ones past MAX_SIGNING_SECRETS in a row from before it).
   */
  | { outcome: 'reencrypted'; changes: SealedChanges; reencrypted: number; expiredDropped: number }
  /** Some active secret does not decrypt with any configured key: the row is left as it is. */
  | { outcome: 'unreadable'; problem: string };

/**
 * Plans the re-encryption of one endpoint's stored secrets (HOOKSTREAM_SECRET_KEY encrypts, any
 * configured key decrypts). Expired secrets, and active ones past MAX_SIGNING_SECRETS, sign nothing:
 * they are dropped, not re-encrypted, so no ciphertext under a retired key is left behind.
 */
export function planReencryption(cipher: SecretCipher, row: SealedColumns, now: Date): ReencryptionPlan {
  const stored = row.secrets;
  const { problem } = readSigningSecrets(cipher, row.id, stored, now);
  const headers = readHeaders(cipher, row.id, row);
  if (problem !== null || headers.problem !== null) {
    return { outcome: 'unreadable', problem: [problem, headers.problem].filter(Boolean).join('. ') };
  }
  const changes: SealedChanges = {};
  let reencrypted = 0;
  let expiredDropped = 0;
  if (!stored.every((secret) => cipher.isCurrent(secret))) {
    // Only those that sign: re-encrypting one past MAX_SIGNING_SECRETS (a row from before that cap)
    // would decrypt a secret readSigningSecrets never checked.
    const active = signingSecrets(stored, now);
    changes.secrets = active.map((secret) => cipher.reencrypt(secret, secretBinding(row.id)));
    reencrypted += active.filter((secret) => !cipher.isCurrent(secret)).length;
    expiredDropped = stored.length - active.length;
  }
  const legacy = Object.keys(row.legacyHeaders ?? {}).length > 0;
  if (legacy || (row.sealedHeaders !== null && !cipher.isCurrent(row.sealedHeaders))) {
    // Plaintext headers of an older version are sealed here; sealed ones re-encrypted.
    Object.assign(
      changes,
      row.sealedHeaders !== null && !legacy
        ? { sealedHeaders: cipher.reencrypt(row.sealedHeaders, headersBinding(row.id)) }
        : sealHeaders(cipher, row.id, headers.headers),
    );
    reencrypted += 1;
  }
  if (Object.keys(changes).length === 0) return { outcome: 'current' };
  return { outcome: 'reencrypted', changes, reencrypted, expiredDropped };
}

/** Counts of `npm run secrets:reencrypt`, per endpoint outcome; it holds ids and numbers, never a secret. */
export class ReencryptionTally {
  reencrypted = 0;
  secretsReencrypted = 0;
  expiredDropped = 0;
  current = 0;
  readonly unreadable: string[] = [];

  add(endpointId: string, plan: ReencryptionPlan): void {
    if (plan.outcome === 'current') {
      this.current += 1;
    } else if (plan.outcome === 'unreadable') {
      this.unreadable.push(endpointId);
    } else {
      this.reencrypted += 1;
      this.secretsReencrypted += plan.reencrypted;
      this.expiredDropped += plan.expiredDropped;
    }
  }

  /** 0 when every endpoint's secrets are (or, in a dry run, would be) under the current key; 2 otherwise. */
  exitCode(): number {
    return this.unreadable.length > 0 ? 2 : 0;
  }

  summary(dryRun: boolean): string[] {
    const lines = [
      `re-encrypted: ${this.reencrypted} endpoint(s) (${this.secretsReencrypted} secret(s) or header set(s) re-encrypted, ` +
        `${this.expiredDropped} expired secret(s) dropped)`,
      `already current: ${this.current} endpoint(s)`,
      `unreadable: ${this.unreadable.length} endpoint(s)${this.unreadable.length ? `: ${this.unreadable.join(', ')}` : ''}`,
    ];
    if (this.unreadable.length > 0) {
      lines.push(
        'to fix the unreadable ones, add the key each was encrypted with to HOOKSTREAM_SECRET_KEY_PREVIOUS ' +
          "and run this again, or rotate those endpoints' secrets (POST /v1/endpoints/:id/secret/rotate)",
      );
    }
    if (dryRun) lines.push('dry run: nothing was written');
    return lines;
  }
}
