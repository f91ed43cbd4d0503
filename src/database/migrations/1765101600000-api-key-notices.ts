import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A revoked (or deleted) API key is announced on `hookstream_api_keys` with its id, so every process
 * that caches keys forgets it within moments (src/tenants `KeyRevocationNotices`), as endpoints and
 * event types are announced already. Before this, only the process that served the DELETE forgot
 * it; the others trusted it for HOOKSTREAM_API_KEY_CACHE_TTL.
 */
export class ApiKeyNotices1765101600000 implements MigrationInterface {
  name = 'ApiKeyNotices1765101600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION hookstream_notify_api_key_revoked() RETURNS trigger AS $$
      BEGIN
        IF TG_OP = 'DELETE' OR NEW.revoked_at IS NOT NULL THEN
          PERFORM pg_notify('hookstream_api_keys', OLD.id::text);
        END IF;
        RETURN NULL;
      END $$ LANGUAGE plpgsql`);
    await queryRunner.query(`
      CREATE TRIGGER api_keys_notify AFTER UPDATE OF revoked_at OR DELETE ON api_keys
      FOR EACH ROW EXECUTE FUNCTION hookstream_notify_api_key_revoked()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER api_keys_notify ON api_keys`);
    await queryRunner.query(`DROP FUNCTION hookstream_notify_api_key_revoked`);
  }
}
