import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 20, the tenant portal shows each attempt's request as sent. The body is rebuilt from the
 * events feed (the same bytes every attempt carried); what differs per attempt is its
 * `webhook-timestamp` and `webhook-signature` (the secrets change on rotation), kept here. Nullable:
 * rows written before this migration have neither. Adding nullable columns rewrites no row.
 */
export class AttemptRequest1764583200000 implements MigrationInterface {
  name = 'AttemptRequest1764583200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE delivery_attempts ADD COLUMN webhook_timestamp bigint, ADD COLUMN webhook_signature text`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE delivery_attempts DROP COLUMN webhook_timestamp, DROP COLUMN webhook_signature`,
    );
  }
}
