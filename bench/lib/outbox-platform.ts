import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createOutboxTable, Outbox } from '@hookstream/publisher';
import { Pool } from 'pg';
import { ROOT } from './service';

/**
 * A platform service for the outbox runs (bench/outbox-crash.ts, bench/lib/outbox.ts): records in
 * its own schema, each update announced by `record.updated` through @hookstream/publisher's outbox
 * in the same transaction, and the relay as the process platforms deploy (`hookstream-outbox-relay`).
 */
export const RELAY_BIN = join(
  ROOT,
  'packages',
  'publisher',
  'dist',
  'packages',
  'publisher',
  'src',
  'bin',
  'outbox-relay.js',
);

export interface PlatformEvents {
  'record.updated': { recordId: string; version: number; seq: number; committedAtMs?: number };
}

/** Builds the library when its bin is missing (the service's build is ensureServiceBuilt's job). */
export function ensurePublisherBuilt(): void {
  if (existsSync(RELAY_BIN)) return;
  const result = spawnSync('npm', ['run', 'build:publisher', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('building @hookstream/publisher failed');
}

export class PlatformService {
  readonly pool: Pool;
  readonly outbox: Outbox<PlatformEvents>;

  constructor(
    databaseUrl: string,
    readonly table: string,
    topic: string,
    connections: number,
  ) {
    this.pool = new Pool({ connectionString: databaseUrl, max: connections });
    this.outbox = new Outbox<PlatformEvents>({ table, topic, source: '/bench-platform' });
  }

  async migrate(): Promise<void> {
    const schema = this.table.split('.')[0];
    await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.records (id text PRIMARY KEY, tenant_id text NOT NULL, version int NOT NULL)`,
    );
    await createOutboxTable(this.pool, this.table);
  }

  /**
   * Updates one record and enqueues its event in one transaction, then commits or (rollback) rolls
   * both back. Resolves with the event id, and whether it committed.
   */
  async update(tenantId: string, recordId: string, seq: number, rollback: boolean): Promise<string> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ version: number }>(
        `INSERT INTO ${this.table.split('.')[0]}.records (id, tenant_id, version) VALUES ($1, $2, 1)
         ON CONFLICT (id) DO UPDATE SET version = records.version + 1 RETURNING version`,
        [recordId, tenantId],
      );
      const event = await this.outbox.enqueue(client, {
        type: 'record.updated',
        tenantId,
        data: { recordId, version: rows[0].version, seq, committedAtMs: Date.now() },
      });
      await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
      return event.id;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The same record update without its event (committed on its own): the direct path's first write. */
  async updateRecordOnly(tenantId: string, recordId: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table.split('.')[0]}.records (id, tenant_id, version) VALUES ($1, $2, 1)
       ON CONFLICT (id) DO UPDATE SET version = records.version + 1`,
      [recordId, tenantId],
    );
  }

  async unsent(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${this.table} WHERE sent_at IS NULL`,
    );
    return rows[0].n;
  }
}

/** `hookstream-outbox-relay` as its own process, as a platform runs it. */
export function spawnRelay(env: Record<string, string>): ChildProcess {
  ensurePublisherBuilt();
  const child = spawn(process.execPath, [RELAY_BIN], {
    env: { PATH: process.env.PATH ?? '', OUTBOX_POLL_MS: '20', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', () => undefined);
  return child;
}
