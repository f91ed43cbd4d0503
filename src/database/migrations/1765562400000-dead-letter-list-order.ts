import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * `GET /v1/dead-letters` without `endpointId` orders a tenant's rows by (created_at, id): the
 * indexes led with endpoint_id, so each page sorted every dead letter the tenant had. The second
 * index is retention's (DeadLetterRetention): its oldest-first batches read only the rows they
 * delete. Built CONCURRENTLY, outside a transaction, so the dead-letter mirror's inserts go on.
 */
export class DeadLetterListOrder1765562400000 implements MigrationInterface {
  name = 'DeadLetterListOrder1765562400000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      queryRunner,
      'dead_letters_tenant_created_idx',
      'dead_letters (tenant_id, created_at DESC, id DESC)',
    );
    await createIndexConcurrently(queryRunner, 'dead_letters_created_idx', 'dead_letters (created_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX dead_letters_created_idx`);
    await queryRunner.query(`DROP INDEX dead_letters_tenant_created_idx`);
  }
}
