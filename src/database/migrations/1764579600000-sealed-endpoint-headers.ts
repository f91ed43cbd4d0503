import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 19: endpoint custom header values are receiver credentials, so they are stored encrypted
 * like signing secrets (`sealed_headers`, one AES-GCM value bound to the endpoint id) with their
 * names beside them in clear (`header_names`) for reads. A migration cannot encrypt: the key is the
 * service's, and `npm run migration:run` runs without it. So this adds the columns and copies the
 * names; the service seals every row still holding plaintext in `headers` as it boots (and empties
 * it), as does `npm run secrets:reencrypt`. `headers` stays for one release so replicas of the
 * previous version keep working during a rolling upgrade; whatever they write is sealed on the next
 * boot or re-encryption run.
 */
export class SealedEndpointHeaders1764579600000 implements MigrationInterface {
  name = 'SealedEndpointHeaders1764579600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE endpoints ADD COLUMN sealed_headers jsonb`);
    await queryRunner.query(`ALTER TABLE endpoints ADD COLUMN header_names text[] NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`
      UPDATE endpoints SET header_names = ARRAY(SELECT jsonb_object_keys(headers) ORDER BY 1)
      WHERE headers <> '{}'::jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE endpoints DROP COLUMN header_names`);
    await queryRunner.query(`ALTER TABLE endpoints DROP COLUMN sealed_headers`);
  }
}
