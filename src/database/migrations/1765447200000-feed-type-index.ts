import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `GET /v1/events?types=...` had no index on type: a page walked the feed index from the tenant's
 * first row and read every row to test its type, the whole feed for a type that never came. This
 * one gives each exact type its own (txid, seq) order, and each prefix `p.` a range (`p.` < type <
 * `p/`). In byte order (COLLATE "C"), whatever the database's collation, so the range is exact.
 * Built without CONCURRENTLY (a migration runs in a transaction): the feed writer's inserts wait for
 * the build, and retry, as they do while PostgreSQL is away.
 */
export class FeedTypeIndex1765447200000 implements MigrationInterface {
  name = 'FeedTypeIndex1765447200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX events_type_idx ON events (tenant_id, type COLLATE "C", txid, seq)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX events_type_idx`);
  }
}
