import { activeSecrets, type SecretCipher, type StoredSecret } from './secret-cipher';
import { readSigningSecrets } from './signing-secrets';

/** What re-encrypting one endpoint's secrets under the current key comes to. */
export type ReencryptionPlan =
  /** Every stored secret is under the current key already: nothing to write. */
  | { outcome: 'current' }
  /** Write `secrets`: the active ones under the current key (dates kept), expired ones dropped. */
  | { outcome: 'reencrypted'; secrets: StoredSecret[]; reencrypted: number; expiredDropped: number }
  /** Some active secret does not decrypt with any configured key: the row is left as it is. */
  | { outcome: 'unreadable'; problem: string };

/**
 * Plans the re-encryption of one endpoint's stored secrets (HOOKSTREAM_SECRET_KEY encrypts, any
 * configured key decrypts). Expired secrets sign nothing: they are dropped, not re-encrypted, so no
 * ciphertext under a retired key is left behind.
 */
export function planReencryption(cipher: SecretCipher, stored: StoredSecret[], now: Date): ReencryptionPlan {
  const { problem } = readSigningSecrets(cipher, stored, now);
  if (problem !== null) return { outcome: 'unreadable', problem };
  if (stored.every((secret) => secret.keyId === cipher.currentKeyId)) return { outcome: 'current' };
  const active = activeSecrets(stored, now);
  return {
    outcome: 'reencrypted',
    secrets: active.map((secret) => cipher.reencrypt(secret)),
    reencrypted: active.filter((secret) => secret.keyId !== cipher.currentKeyId).length,
    expiredDropped: stored.length - active.length,
  };
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
      `re-encrypted: ${this.reencrypted} endpoint(s) (${this.secretsReencrypted} secret(s) re-encrypted, ` +
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
