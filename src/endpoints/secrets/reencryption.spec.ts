import { planReencryption, ReencryptionTally, type ReencryptionPlan } from './reencryption';
import { generateSecret, SecretCipher, secretBinding, type StoredSecret } from './secret-cipher';
import type { SealedColumns } from './reencryption';

const KEY_A = 'a'.repeat(40);
const KEY_B = 'b'.repeat(40);
const NOW = new Date('2026-03-01T12:00:00Z');
const CREATED = '2026-01-01T00:00:00.000Z';
const LATER = '2026-03-02T12:00:00.000Z';
const EARLIER = '2026-03-01T11:00:00.000Z';

const ID = '6c1c3f0e-94c6-4b8f-9d0a-2f1f7e0b9a11';
const withA = new SecretCipher([KEY_A]);
const withB = new SecretCipher([KEY_B]);
const withBThenA = new SecretCipher([KEY_B, KEY_A]);

function stored(cipher: SecretCipher, plain: string, expiresAt: string | null = null): StoredSecret {
  return { ...cipher.encrypt(plain, secretBinding(ID), new Date(CREATED)), expiresAt };
}

/** A row with these secrets and no custom headers. */
function endpointRow(secrets: StoredSecret[]): SealedColumns {
  return { id: ID, secrets, sealedHeaders: null, headerNames: [], legacyHeaders: {} };
}

describe('planReencryption', () => {
  it('moves every active secret to the current key, keeping plaintext and dates, and drops expired ones', () => {
    const current = generateSecret();
    const previous = generateSecret();
    const plan = planReencryption(
      withBThenA,
      endpointRow([
        stored(withA, current),
        stored(withA, previous, LATER),
        stored(withA, generateSecret(), EARLIER),
      ]),
      NOW,
    );
    if (plan.outcome !== 'reencrypted') throw new Error(`expected reencrypted, got ${plan.outcome}`);
    expect(plan).toMatchObject({ reencrypted: 2, expiredDropped: 1 });
    expect(plan.changes.secrets?.map((secret) => [secret.keyId, secret.createdAt, secret.expiresAt])).toEqual(
      [
        [withB.currentKeyId, CREATED, null],
        [withB.currentKeyId, CREATED, LATER],
      ],
    );
    // Readable with the new key alone: the old one can be retired.
    expect(plan.changes.secrets?.map((secret) => withB.decrypt(secret, secretBinding(ID)))).toEqual([
      current,
      previous,
    ]);
    expect(JSON.stringify(plan.changes)).not.toContain(current.slice(6));
  });

  it('keeps only the three secrets that sign of a row from before the cap, never reading the rest', () => {
    const third = new SecretCipher(['c'.repeat(40)]);
    const signing = [generateSecret(), generateSecret(), generateSecret()];
    const plan = planReencryption(
      withBThenA,
      endpointRow([
        stored(withA, signing[0]),
        stored(withA, signing[1], LATER),
        stored(withA, signing[2], LATER),
        // Past the cap, under a key no longer configured: they sign nothing, so they do not block.
        stored(third, generateSecret(), LATER),
        stored(third, generateSecret(), LATER),
      ]),
      NOW,
    );
    if (plan.outcome !== 'reencrypted') throw new Error(`expected reencrypted, got ${plan.outcome}`);
    expect(plan).toMatchObject({ reencrypted: 3, expiredDropped: 2 });
    expect(plan.changes.secrets?.map((secret) => withB.decrypt(secret, secretBinding(ID)))).toEqual(signing);
  });

  it('re-encrypts only what is not under the current key', () => {
    const untouched = stored(withB, generateSecret());
    const plan = planReencryption(
      withBThenA,
      endpointRow([untouched, stored(withA, generateSecret(), LATER)]),
      NOW,
    );
    if (plan.outcome !== 'reencrypted') throw new Error(`expected reencrypted, got ${plan.outcome}`);
    expect(plan.reencrypted).toBe(1);
    expect(plan.changes.secrets?.[0]).toBe(untouched);
  });

  it('leaves secrets all under the current key as they are', () => {
    expect(planReencryption(withBThenA, endpointRow([stored(withB, generateSecret())]), NOW)).toEqual({
      outcome: 'current',
    });
  });

  it('drops an expired secret under an old key even when the active ones are current', () => {
    const plan = planReencryption(
      withB,
      endpointRow([stored(withB, generateSecret()), stored(withA, generateSecret(), EARLIER)]),
      NOW,
    );
    expect(plan).toMatchObject({ outcome: 'reencrypted', reencrypted: 0, expiredDropped: 1 });
  });

  it('reports a row with a secret no configured key decrypts, and changes nothing of it', () => {
    const plan = planReencryption(
      withB,
      endpointRow([stored(withB, generateSecret()), stored(withA, generateSecret(), LATER)]),
      NOW,
    );
    expect(plan.outcome).toBe('unreadable');
    expect(plan).toMatchObject({ problem: expect.stringContaining(`key ${withA.currentKeyId}`) });
  });
});

describe('ReencryptionTally', () => {
  const reencrypted = (count: number, dropped = 0): ReencryptionPlan => ({
    outcome: 'reencrypted',
    changes: {},
    reencrypted: count,
    expiredDropped: dropped,
  });

  it('counts endpoints per outcome and exits 0 when none is unreadable', () => {
    const tally = new ReencryptionTally();
    tally.add('e1', reencrypted(2, 1));
    tally.add('e2', reencrypted(1));
    tally.add('e3', { outcome: 'current' });
    expect(tally.exitCode()).toBe(0);
    expect(tally.summary(false)).toEqual([
      're-encrypted: 2 endpoint(s) (3 secret(s) or header set(s) re-encrypted, 1 expired secret(s) dropped)',
      'already current: 1 endpoint(s)',
      'unreadable: 0 endpoint(s)',
    ]);
  });

  it('lists the unreadable endpoints by id, says how to fix them and exits 2', () => {
    const tally = new ReencryptionTally();
    tally.add('e1', { outcome: 'unreadable', problem: 'p' });
    tally.add('e2', { outcome: 'current' });
    tally.add('e3', { outcome: 'unreadable', problem: 'p' });
    expect(tally.exitCode()).toBe(2);
    const summary = tally.summary(true);
    expect(summary[2]).toBe('unreadable: 2 endpoint(s): e1, e3');
    expect(summary[3]).toMatch(/HOOKSTREAM_SECRET_KEY_PREVIOUS/);
    expect(summary[summary.length - 1]).toBe('dry run: nothing was written');
  });
});
