import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 17 item 5, the event catalogue. `event_types`: the platform's event types (one catalogue
 * for every tenant), each with a description, an optional JSON Schema of its `data` kept as the
 * admin sent it (text, not jsonb, which would reorder its keys), what ingest does with data that
 * fails it, a deprecated flag and a version bumped on every change (the compiled-schema cache's
 * key). A trigger announces each change on `hookstream_event_types`, as `endpoints` does, so every
 * replica recompiles the schema without a query per event.
 */
export class EventCatalogue1764576000000 implements MigrationInterface {
  name = 'EventCatalogue1764576000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE event_types (
        name text PRIMARY KEY,
        description text NOT NULL DEFAULT '',
        schema text,
        validation text NOT NULL DEFAULT 'off' CHECK (validation IN ('off', 'reject')),
        deprecated boolean NOT NULL DEFAULT false,
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE FUNCTION hookstream_notify_event_type_change() RETURNS trigger AS $$
      BEGIN
        PERFORM pg_notify('hookstream_event_types', COALESCE(NEW.name, OLD.name));
        RETURN NULL;
      END $$ LANGUAGE plpgsql`);
    await queryRunner.query(`
      CREATE TRIGGER event_types_notify AFTER INSERT OR UPDATE OR DELETE ON event_types
      FOR EACH ROW EXECUTE FUNCTION hookstream_notify_event_type_change()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE event_types`);
    await queryRunner.query(`DROP FUNCTION hookstream_notify_event_type_change`);
  }
}
