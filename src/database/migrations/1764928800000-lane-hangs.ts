import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The endpoints whose lane hangs on the process that owns them, until when that process last
 * vouched for it (README decision 84): what the fan-out of every other process holds at once, as
 * it does for an open circuit, instead of sending the delivery through the deliveries topic only
 * for the owner to shed it. A row lapses by itself if its owner stops renewing it.
 */
export class LaneHangs1764928800000 implements MigrationInterface {
  name = 'LaneHangs1764928800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE endpoint_lane_hangs (
         endpoint_id uuid PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
         hanging_until timestamptz NOT NULL
       )`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE endpoint_lane_hangs`);
  }
}
