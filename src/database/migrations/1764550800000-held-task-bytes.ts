import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Held tasks are kept as the bytes Kafka carries (README decision 25), not as text: the engine holds
 * a record's own value and the release writes it back unchanged. A new migration rather than an
 * edit of the one that created the table, which databases may already have applied.
 */
export class HeldTaskBytes1764550800000 implements MigrationInterface {
  name = 'HeldTaskBytes1764550800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A task is JSON and starts with '{'. Text starting with \x is the hex form of bytes that
    // code expecting this column to be bytea wrote while it was still text: decode it.
    await queryRunner.query(`
      ALTER TABLE held_deliveries ALTER COLUMN task TYPE bytea USING
        CASE WHEN left(task, 2) = '\\x' THEN decode(substr(task, 3), 'hex') ELSE convert_to(task, 'UTF8') END`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE held_deliveries ALTER COLUMN task TYPE text USING convert_from(task, 'UTF8')`,
    );
  }
}
