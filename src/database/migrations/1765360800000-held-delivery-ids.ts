import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A held delivery is held once: the fan-out retries a whole batch after a failed send, and each
 * run held the batch's held tasks again (one more row per retry, each handed back to the endpoint
 * when it recovered). Rows held before this migration have no id and never conflict.
 */
export class HeldDeliveryIds1765360800000 implements MigrationInterface {
  name = 'HeldDeliveryIds1765360800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE held_deliveries ADD COLUMN delivery_id text`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX held_deliveries_delivery_idx ON held_deliveries (endpoint_id, delivery_id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX held_deliveries_delivery_idx`);
    await queryRunner.query(`ALTER TABLE held_deliveries DROP COLUMN delivery_id`);
  }
}
