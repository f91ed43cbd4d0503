import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deliveries held while their endpoint cannot take them (circuit open, or its lane hangs), so they
 * wait in one row each instead of cycling through the retry tiers. README decision 22.
 */
export class HeldDeliveries1764547200000 implements MigrationInterface {
  name = 'HeldDeliveries1764547200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE held_deliveries (
        id bigserial PRIMARY KEY,
        endpoint_id uuid NOT NULL,
        published_at_ms bigint NOT NULL,
        task text NOT NULL,
        state jsonb NOT NULL,
        held_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX held_deliveries_endpoint_idx ON held_deliveries (endpoint_id, published_at_ms, id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE held_deliveries`);
  }
}
