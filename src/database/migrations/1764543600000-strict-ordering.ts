import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Strict ordering: which delivery blocks an endpoint, and the deliveries parked behind it, in order. */
export class StrictOrdering1764543600000 implements MigrationInterface {
  name = 'StrictOrdering1764543600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE endpoint_blocks (
        endpoint_id uuid PRIMARY KEY,
        delivery_id uuid NOT NULL,
        blocked_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE parked_deliveries (
        id bigserial PRIMARY KEY,
        endpoint_id uuid NOT NULL,
        delivery_id uuid NOT NULL,
        task jsonb NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX parked_deliveries_endpoint_idx ON parked_deliveries (endpoint_id, id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE parked_deliveries`);
    await queryRunner.query(`DROP TABLE endpoint_blocks`);
  }
}
