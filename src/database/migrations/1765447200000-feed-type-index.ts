import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * `GET /v1/events?types=...` had no index on type: a page walked the feed index from the tenant's
 * first row and read every row to test its type, the whole feed for a type that never came. This
 * one gives each exact type its own (txid, seq) order, and each prefix `p.` a range (`p.` < type <
 * `p/`). In byte order (COLLATE "C"), whatever the database's collation, so the range is exact.
 * Built CONCURRENTLY, outside a transaction: built in one, it blocked the feed's inserts for the
 * whole build, and the feed writer's buffer dropped rows meanwhile.
 */
export class FeedTypeIndex1765447200000 implements MigrationInterface {
  name = 'FeedTypeIndex1765447200000';
  transaction = false;

  async up(queryRunner: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      queryRunner,
      'events_type_idx',
      'events (tenant_id, type COLLATE "C", txid, seq)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX events_type_idx`);
  }
}
