import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 15. Parked and dead-lettered tasks are kept as the bytes Kafka carries, as held ones are:
 * `jsonb` refuses some valid JSON (a "\u0000" escape, an unpaired surrogate escape) that an event's
 * data may hold, and a parked delivery that cannot be written stuck its strict endpoint for good.
 * And one lease per tenant, so a tenant runs at most one window replay at a time on any instance.
 */
export class TaskBytesAndReplayLeases1764554400000 implements MigrationInterface {
  name = 'TaskBytesAndReplayLeases1764554400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE parked_deliveries ALTER COLUMN task TYPE bytea USING convert_to(task::text, 'UTF8')`,
    );
    await queryRunner.query(
      `ALTER TABLE dead_letters ALTER COLUMN task TYPE bytea USING convert_to(task::text, 'UTF8')`,
    );
    await queryRunner.query(`
      CREATE TABLE replay_leases (
        tenant_id uuid PRIMARY KEY,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE replay_leases`);
    await queryRunner.query(
      `ALTER TABLE dead_letters ALTER COLUMN task TYPE jsonb USING convert_from(task, 'UTF8')::jsonb`,
    );
    await queryRunner.query(
      `ALTER TABLE parked_deliveries ALTER COLUMN task TYPE jsonb USING convert_from(task, 'UTF8')::jsonb`,
    );
  }
}
