import 'reflect-metadata';
import { ConfigError, loadConfig } from '../../config/config';
import { createDataSource } from '../../database/data-source';
import { EndpointsRepository } from '../endpoints.repository';
import { planReencryption, ReencryptionTally, type ReencryptionPlan } from './reencryption';
import { SecretCipher } from './secret-cipher';
import { deriveTaskKeys, TaskSeal } from '../../domain/task-seal';
import { resealWaitingTasks } from '../../database/waiting-tasks-reseal';

const USAGE = 'usage: npm run secrets:reencrypt [-- --dry-run]';

/**
 * `npm run secrets:reencrypt`: re-encrypts every endpoint's signing secrets and custom headers under
 * HOOKSTREAM_SECRET_KEY in the current ciphertext format (sealing plaintext headers of older rows), decrypting with it or any key of HOOKSTREAM_SECRET_KEY_PREVIOUS, one
 * endpoint per transaction under a row lock (running services keep serving; their caches follow by
 * NOTIFY), then reseals the delivery tasks parked or held in PostgreSQL under the current key. Once
 * it exits 0 the previous keys can be dropped (after HOOKSTREAM_MAX_ATTEMPT_AGE, for the tasks in
 * the retry tiers). Exits 2 when some endpoint's secret does not decrypt, or some waiting task does
 * not verify, with any configured key (listed), 64 on bad arguments, 78 on a bad environment.
 * It prints ids, key ids and counts, never a secret.
 */
async function main(args: string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== '--dry-run');
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown.join(' ')}; ${USAGE}`);
    return 64; // EX_USAGE
  }
  const dryRun = args.includes('--dry-run');
  // Only the database and the keys matter here; the admin token is required of the service alone.
  const config = loadConfig({ HOOKSTREAM_ADMIN_TOKEN: 'x'.repeat(16), ...process.env });
  const cipher = new SecretCipher(config.security.secretKeys);
  const dataSource = createDataSource(config.databaseUrl);
  await dataSource.initialize();
  try {
    const endpoints = new EndpointsRepository(dataSource);
    const tally = new ReencryptionTally();
    console.log(
      `${dryRun ? 'dry run: ' : ''}re-encrypting endpoint secrets under key ${cipher.currentKeyId} ` +
        `(configured keys: ${cipher.keyIds.join(', ')})`,
    );
    for (const id of await endpoints.allIds()) {
      const plans: ReencryptionPlan[] = [];
      if (dryRun) {
        const row = await endpoints.findById(id);
        if (row) plans.push(planReencryption(cipher, row, new Date()));
      } else {
        await endpoints.changeSealedOfAny(id, (row) => {
          const plan = planReencryption(cipher, row, new Date());
          plans.push(plan);
          return plan.outcome === 'reencrypted' ? plan.changes : null;
        });
      }
      // No plan: the endpoint was deleted since the listing.
      for (const plan of plans) {
        tally.add(id, plan);
        if (plan.outcome === 'unreadable') console.log(`endpoint ${id} is unreadable: ${plan.problem}`);
      }
    }
    for (const line of tally.summary(dryRun)) console.log(line);
    // Delivery tasks waiting in PostgreSQL carry a MAC under the key they were sealed with.
    const seal = new TaskSeal(deriveTaskKeys(config.security.secretKeys));
    let unverified = 0;
    for (const waiting of await resealWaitingTasks(dataSource, seal, dryRun)) {
      unverified += waiting.unverified.length;
      console.log(
        `${waiting.table}: ${waiting.resealed} task(s) resealed under the current key, ${waiting.current} already, ` +
          `${waiting.unverified.length} verify under no configured key` +
          (waiting.unverified.length > 0 ? ` (row ids ${waiting.unverified.slice(0, 20).join(', ')})` : ''),
      );
    }
    return unverified > 0 ? 2 : tally.exitCode();
  } finally {
    await dataSource.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(`secrets:reencrypt: cannot start. ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    console.error(`secrets:reencrypt failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
