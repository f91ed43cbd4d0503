import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Review H2: a claim of `idempotency_keys` names the request holding it now. A claim taken over
 * (abandoned after 60 s, or failed) gets the new holder's token, and a `failed` outcome is written
 * only under the token it was claimed with, so the first request's late failure cannot mark its
 * successor's claim failed. Rows claimed before this column have none (NULL): no token matches
 * them until a claim takes them over. Nullable without a default, so adding it rewrites nothing.
 */
export class IdempotencyClaimToken1765274400000 implements MigrationInterface {
  name = 'IdempotencyClaimToken1765274400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE idempotency_keys ADD COLUMN claim_token uuid`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE idempotency_keys DROP COLUMN claim_token`);
  }
}
