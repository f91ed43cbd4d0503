import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A dead-letter replay job claims its chunk for a while (`replay_claim`: the job's id,
 * `replay_claimed_until`), sends it, then marks it replayed, each step its own short transaction:
 * before, the chunk's row locks stayed open across the Kafka write, and their xid held the events
 * feed's horizon back for as long as Kafka took (README decision 40). The same job, resumed after
 * a crash, takes its own claims again at once; another job takes them once they run out.
 */
export class DeadLetterReplayClaims1765537200000 implements MigrationInterface {
  name = 'DeadLetterReplayClaims1765537200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE dead_letters ADD COLUMN replay_claim uuid, ADD COLUMN replay_claimed_until timestamptz`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE dead_letters DROP COLUMN replay_claim, DROP COLUMN replay_claimed_until`,
    );
  }
}
