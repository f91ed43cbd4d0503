import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each strict block records the rule it was made under (README decision 74): `whole_stream` when
 * the endpoint ran one delivery at a time, so the block holds every later delivery of the endpoint,
 * keyed or not, even after `maxConcurrency` is raised. A block already there was made under the
 * endpoint's `maxConcurrency` as it stands, the best record of its rule there is.
 */
export class BlockRule1764842400000 implements MigrationInterface {
  name = 'BlockRule1764842400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE endpoint_blocks ADD COLUMN whole_stream boolean NOT NULL DEFAULT false`,
    );
    await queryRunner.query(
      `UPDATE endpoint_blocks b SET whole_stream = true FROM endpoints e
        WHERE e.id = b.endpoint_id AND b.ordering_key = '' AND e.max_concurrency <= 1`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE endpoint_blocks DROP COLUMN whole_stream`);
  }
}
