import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant's portal links issued at or before `portal_links_not_before` are refused (the admin's
 * DELETE /v1/tenants/:id/portal-links). Setting it is announced on `hookstream_api_keys`, the channel
 * every API process already hears key revocations on, as `portal-links:<tenant id>` (a key's id is
 * a bare UUID), so each forgets the tenant's cached floor within moments.
 */
export class PortalLinksNotBefore1765188000000 implements MigrationInterface {
  name = 'PortalLinksNotBefore1765188000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE tenants ADD COLUMN portal_links_not_before timestamptz`);
    await queryRunner.query(`
      CREATE FUNCTION hookstream_notify_portal_links_voided() RETURNS trigger AS $$
      BEGIN
        PERFORM pg_notify('hookstream_api_keys', 'portal-links:' || NEW.id::text);
        RETURN NULL;
      END $$ LANGUAGE plpgsql`);
    await queryRunner.query(`
      CREATE TRIGGER tenants_portal_links_notify AFTER UPDATE OF portal_links_not_before ON tenants
      FOR EACH ROW EXECUTE FUNCTION hookstream_notify_portal_links_voided()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER tenants_portal_links_notify ON tenants`);
    await queryRunner.query(`DROP FUNCTION hookstream_notify_portal_links_voided`);
    await queryRunner.query(`ALTER TABLE tenants DROP COLUMN portal_links_not_before`);
  }
}
