import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * A due notification window is claimed for a while (`claim`, `claimed_until`) with the tally it
 * sends (`sending`) and the moment it is about (`sending_at_ms`, which makes its event id), then
 * published with no transaction open, then marked sent: before, the window's row lock stayed open
 * across the Kafka write, and its xid held the events feed's horizon back for every tenant for as
 * long as Kafka took (README decision 40). A claim that runs out (its process died) is taken over
 * and the same notification sent again; a failed publish puts its tally back in front of what came
 * meanwhile. The partial index finds the claims in flight (a handful) for the takeover.
 * Outside a transaction, so the index is built CONCURRENTLY; the columns are added only if missing,
 * so a run interrupted after them finishes the job.
 */
export class NotificationWindowClaims1765551600000 implements MigrationInterface {
  name = 'NotificationWindowClaims1765551600000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE notification_windows
         ADD COLUMN IF NOT EXISTS sending jsonb,
         ADD COLUMN IF NOT EXISTS sending_at_ms bigint,
         ADD COLUMN IF NOT EXISTS claim uuid,
         ADD COLUMN IF NOT EXISTS claimed_until timestamptz`,
    );
    await createIndexConcurrently(
      queryRunner,
      'notification_windows_claimed',
      'notification_windows (claimed_until) WHERE claim IS NOT NULL',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS notification_windows_claimed`);
    await queryRunner.query(
      `ALTER TABLE notification_windows
         DROP COLUMN sending, DROP COLUMN sending_at_ms, DROP COLUMN claim, DROP COLUMN claimed_until`,
    );
  }
}
