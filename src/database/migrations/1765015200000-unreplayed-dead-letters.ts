import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The dead letters an endpoint's replay job still has to send, in the order it sends them
 * (DeadLettersRepository.replayBatch). Rows are never deleted, so with the general index each chunk
 * read past every row the endpoint ever had replayed before it reached one not replayed yet: a job
 * cost the square of the endpoint's history. Partial, so it holds only rows still waiting. Built
 * without CONCURRENTLY (a migration runs in a transaction): the dead-letter mirror's inserts wait
 * for the build, and retry, as they do while PostgreSQL is away.
 */
export class UnreplayedDeadLetters1765015200000 implements MigrationInterface {
  name = 'UnreplayedDeadLetters1765015200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX dead_letters_unreplayed_idx
         ON dead_letters (tenant_id, endpoint_id, created_at, dlq_partition, dlq_offset)
         WHERE replayed_at IS NULL AND task IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX dead_letters_unreplayed_idx`);
  }
}
