import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Parked deliveries found by delivery: a blocker's own leftover row (deleted when it finishes) and
 * a promoted blocker that was never handed on (src/retry/strict-parking.ts, `unreleased`), without
 * reading every row an endpoint has parked.
 */
export class ParkedDeliveryLookup1764756000000 implements MigrationInterface {
  name = 'ParkedDeliveryLookup1764756000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX parked_deliveries_delivery_idx ON parked_deliveries (endpoint_id, delivery_id)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX parked_deliveries_delivery_idx`);
  }
}
