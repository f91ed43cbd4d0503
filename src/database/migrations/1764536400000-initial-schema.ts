import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Tenants, their hashed API keys, and endpoints with encrypted signing secrets. A trigger announces
 *  every endpoint change on channel `hookstream_endpoints` so each instance's cache follows within ms. */
export class InitialSchema1764536400000 implements MigrationInterface {
  name = 'InitialSchema1764536400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        key_hash text NOT NULL UNIQUE,
        prefix text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id)`);
    await queryRunner.query(`
      CREATE TABLE endpoints (
        id uuid PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        url text NOT NULL,
        description text,
        event_types text[] NOT NULL DEFAULT '{*}',
        ordering text NOT NULL DEFAULT 'none' CHECK (ordering IN ('none', 'strict')),
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason text,
        disabled_at timestamptz,
        headers jsonb NOT NULL DEFAULT '{}',
        max_concurrency integer NOT NULL DEFAULT 10,
        metadata jsonb NOT NULL DEFAULT '{}',
        secrets jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Cursor pagination walks (created_at, id) per tenant.
    await queryRunner.query(
      `CREATE INDEX endpoints_tenant_page_idx ON endpoints (tenant_id, created_at, id)`,
    );
    await queryRunner.query(`
      CREATE FUNCTION hookstream_notify_endpoint_change() RETURNS trigger AS $$
      BEGIN
        PERFORM pg_notify('hookstream_endpoints', COALESCE(NEW.id, OLD.id)::text);
        RETURN NULL;
      END $$ LANGUAGE plpgsql`);
    await queryRunner.query(`
      CREATE TRIGGER endpoints_notify AFTER INSERT OR UPDATE OR DELETE ON endpoints
      FOR EACH ROW EXECUTE FUNCTION hookstream_notify_endpoint_change()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE endpoints`);
    await queryRunner.query(`DROP FUNCTION hookstream_notify_endpoint_change`);
    await queryRunner.query(`DROP TABLE api_keys`);
    await queryRunner.query(`DROP TABLE tenants`);
  }
}
