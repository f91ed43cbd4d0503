import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A held release claims its rows for a while (`claim`, `claimed_until`), hands them on and then
 * deletes them, each step its own short transaction: before, the delete stayed open across the
 * Kafka write, and its xid held the events feed's horizon back for as long as Kafka took (README
 * decision 40). A claim that runs out (its process died) is taken again.
 */
export class HeldDeliveryClaims1765533600000 implements MigrationInterface {
  name = 'HeldDeliveryClaims1765533600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE held_deliveries ADD COLUMN claim uuid, ADD COLUMN claimed_until timestamptz`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE held_deliveries DROP COLUMN claim, DROP COLUMN claimed_until`);
  }
}
