import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ValidationMode } from '../domain/event-schema';

/** One catalogued event type as stored; `schema` is the JSON text the admin sent, or null. */
export interface EventTypeRow {
  name: string;
  description: string;
  schema: string | null;
  validation: ValidationMode;
  deprecated: boolean;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What an admin sets on a type; the version and times are the database's. */
export type EventTypeFields = Pick<EventTypeRow, 'description' | 'schema' | 'validation' | 'deprecated'>;

interface DbRow {
  name: string;
  description: string;
  schema: string | null;
  validation: ValidationMode;
  deprecated: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'name, description, schema, validation, deprecated, version, created_at, updated_at';

const rowOf = (row: DbRow): EventTypeRow => ({
  name: row.name,
  description: row.description,
  schema: row.schema,
  validation: row.validation,
  deprecated: row.deprecated,
  version: row.version,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** The `event_types` table's owner (its only reader and writer). */
@Injectable()
export class EventTypesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Every type, by name: what the catalogue cache loads. */
  async all(): Promise<EventTypeRow[]> {
    const rows = await this.dataSource.query<DbRow[]>(`SELECT ${COLUMNS} FROM event_types ORDER BY name`);
    return rows.map(rowOf);
  }

  /** A page of types by name, after `afterName` when given. */
  async page(limit: number, afterName: string | null): Promise<EventTypeRow[]> {
    const rows = await this.dataSource.query<DbRow[]>(
      `SELECT ${COLUMNS} FROM event_types WHERE ($1::text IS NULL OR name > $1) ORDER BY name LIMIT $2`,
      [afterName, limit],
    );
    return rows.map(rowOf);
  }

  async find(name: string): Promise<EventTypeRow | null> {
    const rows = await this.dataSource.query<DbRow[]>(`SELECT ${COLUMNS} FROM event_types WHERE name = $1`, [
      name,
    ]);
    return rows[0] ? rowOf(rows[0]) : null;
  }

  /** The new type at version 1, or null when the name is taken. */
  async insert(name: string, fields: EventTypeFields): Promise<EventTypeRow | null> {
    const rows = await this.dataSource.query<DbRow[]>(
      `INSERT INTO event_types (name, description, schema, validation, deprecated)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
      [name, fields.description, fields.schema, fields.validation, fields.deprecated],
    );
    return rows[0] ? rowOf(rows[0]) : null;
  }

  /**
   * Creates the type or replaces its fields. The version (the compiled-schema cache's key) moves
   * only when something changed, so applying the same catalogue again recompiles nothing.
   */
  async upsert(name: string, fields: EventTypeFields): Promise<{ row: EventTypeRow; created: boolean }> {
    const rows = await this.dataSource.query<Array<DbRow & { created: boolean }>>(
      `INSERT INTO event_types AS t (name, description, schema, validation, deprecated)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE
         SET description = EXCLUDED.description, schema = EXCLUDED.schema,
             validation = EXCLUDED.validation, deprecated = EXCLUDED.deprecated,
             version = t.version + 1, updated_at = now()
         WHERE (t.description, t.schema, t.validation, t.deprecated)
               IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.schema, EXCLUDED.validation, EXCLUDED.deprecated)
       RETURNING ${COLUMNS}, (xmax = 0) AS created`,
      [name, fields.description, fields.schema, fields.validation, fields.deprecated],
    );
    if (rows[0]) return { row: rowOf(rows[0]), created: rows[0].created };
    // Nothing changed: the row as it is.
    const unchanged = await this.find(name);
    if (!unchanged) throw new Error(`event type ${name} vanished during its update`);
    return { row: unchanged, created: false };
  }

  /** Whether a row was deleted. */
  async delete(name: string): Promise<boolean> {
    // TypeORM answers a DELETE with [rows, affected count].
    const [, affected] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM event_types WHERE name = $1`,
      [name],
    );
    return affected > 0;
  }
}
