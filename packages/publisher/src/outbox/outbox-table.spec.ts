import { PublishError } from '../errors';
import { inTransaction } from './outbox';
import {
  outboxDdl,
  outboxPayloadTextDdl,
  outboxPayloadTextMigration,
  outboxTable,
  rowsOf,
} from './outbox-table';
import { relayOptionsFromEnv } from './relay-config';

describe('outbox table', () => {
  it('quotes a plain or schema-qualified name and refuses anything that could inject SQL', () => {
    expect(outboxTable('platform.outbox')).toEqual({ sql: '"platform"."outbox"', base: 'outbox' });
    expect(outboxTable().sql).toBe('"hookstream_outbox"');
    for (const bad of ['Outbox', 'a.b.c', 'x; drop table y', 'x"', '', '1abc']) {
      expect(() => outboxTable(bad)).toThrow(PublishError);
    }
  });

  it("has Debezium's outbox router columns and the relay's", () => {
    const create = outboxDdl('platform.outbox')[0];
    for (const column of [
      'id text',
      'aggregatetype',
      'aggregateid',
      'type text',
      'payload text',
      'tenant_id',
      'sequence bigint',
      'created_at',
      'sent_at',
    ]) {
      expect(create).toContain(column);
    }
  });

  it('stores the payload as text, the exact JSON the library wrote', () => {
    expect(outboxDdl('platform.outbox')[0]).not.toContain('jsonb');
  });

  it('converts a payload jsonb table of an earlier version in one statement, also as a TypeORM migration', async () => {
    const alter = 'ALTER TABLE "platform"."outbox" ALTER COLUMN payload TYPE text USING payload::text';
    expect(outboxPayloadTextDdl('platform.outbox')).toEqual([alter]);
    expect(outboxPayloadTextDdl()).toEqual([
      'ALTER TABLE "hookstream_outbox" ALTER COLUMN payload TYPE text USING payload::text',
    ]);
    expect(() => outboxPayloadTextDdl('x; drop table y')).toThrow(PublishError);
    const ran: string[] = [];
    const runner = { query: async (text: string) => void ran.push(text) };
    const migration = outboxPayloadTextMigration('platform.outbox', 1766000000000);
    expect(migration.name).toBe('HookstreamOutboxPayloadText1766000000000');
    await migration.up(runner);
    await migration.down(runner);
    expect(ran).toEqual([
      alter,
      'ALTER TABLE "platform"."outbox" ALTER COLUMN payload TYPE jsonb USING payload::jsonb',
    ]);
  });

  it('reads rows from a pg result or a TypeORM result', () => {
    expect(rowsOf([{ a: 1 }])).toEqual([{ a: 1 }]);
    expect(rowsOf({ rows: [{ a: 2 }] })).toEqual([{ a: 2 }]);
    expect(rowsOf(undefined)).toEqual([]);
  });
});

describe('inTransaction', () => {
  const query = async () => undefined;
  it('asks a pg client for its transaction status', () => {
    expect(inTransaction({ query, getTransactionStatus: () => 'T' } as never)).toBe(true);
    expect(inTransaction({ query, getTransactionStatus: () => 'I' } as never)).toBe(false);
    expect(inTransaction({ query, getTransactionStatus: () => 'E' } as never)).toBe(false);
  });
  it("asks TypeORM's query runner", () => {
    expect(inTransaction({ query, queryRunner: { isTransactionActive: true } } as never)).toBe(true);
    expect(inTransaction({ query, connection: {}, queryRunner: undefined } as never)).toBe(false);
    expect(inTransaction({ query, isTransactionActive: false } as never)).toBe(false);
  });
});

describe('relayOptionsFromEnv', () => {
  it('reads the defaults', () => {
    expect(relayOptionsFromEnv({ OUTBOX_DATABASE_URL: 'postgres://x' })).toMatchObject({
      databaseUrl: 'postgres://x',
      brokers: ['127.0.0.1:9092'],
      topic: 'platform.events',
      batchSize: 500,
      pollMs: 50,
      retentionMs: 24 * 3_600_000,
      metricsPort: undefined,
    });
  });
  it('names the variable that is wrong', () => {
    expect(() => relayOptionsFromEnv({})).toThrow(/OUTBOX_DATABASE_URL/);
    expect(() => relayOptionsFromEnv({ DATABASE_URL: 'postgres://x', OUTBOX_BATCH_SIZE: '0' })).toThrow(
      /OUTBOX_BATCH_SIZE/,
    );
    expect(() => relayOptionsFromEnv({ DATABASE_URL: 'postgres://x', OUTBOX_METRICS_PORT: 'abc' })).toThrow(
      /OUTBOX_METRICS_PORT/,
    );
  });
});
