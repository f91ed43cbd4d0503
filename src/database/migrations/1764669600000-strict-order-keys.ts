import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Strict ordering per order key (src/domain/ordering-key.ts): a failing delivery blocks the later
 * deliveries of its key only. Existing blocks and parked rows get the key '' (the whole endpoint
 * stream), which is what they meant before keys existed.
 */
export class StrictOrderKeys1764669600000 implements MigrationInterface {
  name = 'StrictOrderKeys1764669600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE endpoint_blocks ADD COLUMN ordering_key text NOT NULL DEFAULT ''`);
    await queryRunner.query(`ALTER TABLE endpoint_blocks DROP CONSTRAINT endpoint_blocks_pkey`);
    await queryRunner.query(`ALTER TABLE endpoint_blocks ADD PRIMARY KEY (endpoint_id, ordering_key)`);
    await queryRunner.query(
      `CREATE INDEX endpoint_blocks_delivery_idx ON endpoint_blocks (endpoint_id, delivery_id)`,
    );
    await queryRunner.query(`ALTER TABLE parked_deliveries ADD COLUMN ordering_key text NOT NULL DEFAULT ''`);
    await queryRunner.query(`DROP INDEX parked_deliveries_endpoint_idx`);
    await queryRunner.query(
      `CREATE INDEX parked_deliveries_endpoint_idx ON parked_deliveries (endpoint_id, ordering_key, id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX parked_deliveries_endpoint_idx`);
    await queryRunner.query(`ALTER TABLE parked_deliveries DROP COLUMN ordering_key`);
    await queryRunner.query(
      `CREATE INDEX parked_deliveries_endpoint_idx ON parked_deliveries (endpoint_id, id)`,
    );
    await queryRunner.query(`DROP INDEX endpoint_blocks_delivery_idx`);
    // Keeps one block per endpoint (the oldest): the others' parked rows wait behind it, in order.
    await queryRunner.query(`
      DELETE FROM endpoint_blocks b USING endpoint_blocks o
      WHERE b.endpoint_id = o.endpoint_id AND b.blocked_at > o.blocked_at`);
    await queryRunner.query(`ALTER TABLE endpoint_blocks DROP CONSTRAINT endpoint_blocks_pkey`);
    await queryRunner.query(`ALTER TABLE endpoint_blocks DROP COLUMN ordering_key`);
    await queryRunner.query(`ALTER TABLE endpoint_blocks ADD PRIMARY KEY (endpoint_id)`);
  }
}
