import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from './index';
import lock from './applied.lock.json';

/**
 * A migration a database has applied is never run again, so editing it changes nothing there and
 * leaves that database on a different schema than a fresh one (it happened: README decision 25).
 * Each migration's file is locked by its checksum; a change is a new migration.
 */
/** Line endings normalised, so a checkout that converts them does not count as an edit. */
function checksum(path: string): string {
  return createHash('sha256').update(readFileSync(path, 'utf8').replace(/\r\n/g, '\n')).digest('hex');
}

/** Migrations written after this one are held to `ddlBreaches`; the ones before are frozen. */
const DDL_RULES_AFTER = 1765447200000;

/**
 * What a migration must not do on a live table: build an index without CONCURRENTLY (writes wait
 * for the whole build), or alter a table and build an index in one transaction (the ALTER's ACCESS
 * EXCLUSIVE lock is held, and reads wait too, until the build ends).
 */
function ddlBreaches(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const breaches: string[] = [];
  if (/CREATE\s+(UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)/i.test(code)) {
    breaches.push('CREATE INDEX without CONCURRENTLY');
  }
  const transactional = !/\btransaction\s*=\s*false\b/.test(code);
  const buildsIndex = /CREATE\s+(UNIQUE\s+)?INDEX\b|createIndexConcurrently\(/i.test(code);
  if (transactional && buildsIndex && /ALTER\s+TABLE\b/i.test(code)) {
    breaches.push('ALTER TABLE and an index build in one transaction');
  }
  return breaches;
}

describe('migrations', () => {
  const files = readdirSync(__dirname).filter(
    (name) => /^\d+-.+\.ts$/.test(name) && !name.endsWith('.spec.ts'),
  );
  const locked = lock as Record<string, string>;

  it('are never edited once written', () => {
    const edited = files.filter(
      (name) => locked[name] !== undefined && checksum(join(__dirname, name)) !== locked[name],
    );
    expect(edited).toEqual([]);
  });

  it('each have a checksum in applied.lock.json, and each locked one still exists', () => {
    expect(files.filter((name) => locked[name] === undefined)).toEqual([]);
    expect(Object.keys(locked).filter((name) => !files.includes(name))).toEqual([]);
  });

  it('are all registered, in timestamp order', () => {
    const timestamps = MIGRATIONS.map((migration) => Number(/(\d{13})$/.exec(migration.name)?.[1]));
    expect(timestamps).toEqual([...timestamps].sort((a, b) => a - b));
    expect(MIGRATIONS).toHaveLength(files.length);
  });

  it(`written after ${DDL_RULES_AFTER} neither block writes for an index build nor alter and build in one transaction`, () => {
    const breaches = files
      .filter((name) => Number(name.slice(0, 13)) > DDL_RULES_AFTER)
      .flatMap((name) =>
        ddlBreaches(readFileSync(join(__dirname, name), 'utf8')).map((b) => `${name}: ${b}`),
      );
    expect(breaches).toEqual([]);
  });
});

describe('ddlBreaches', () => {
  it('refuses a plain or unique index build, and accepts a CONCURRENTLY one outside a transaction', () => {
    expect(ddlBreaches('await queryRunner.query(`CREATE INDEX a_idx ON a (b)`);')).toEqual([
      'CREATE INDEX without CONCURRENTLY',
    ]);
    expect(ddlBreaches('transaction = false; q(`create unique index a_idx on a (b)`)')).toEqual([
      'CREATE INDEX without CONCURRENTLY',
    ]);
    expect(ddlBreaches('transaction = false; q(`CREATE INDEX CONCURRENTLY a_idx ON a (b)`)')).toEqual([]);
  });

  it('refuses an ALTER TABLE and an index build in one transactional migration', () => {
    // The applied HeldDeliveryIds1765360800000 does both, which held held_deliveries for the build.
    const held = readFileSync(join(__dirname, '1765360800000-held-delivery-ids.ts'), 'utf8');
    expect(ddlBreaches(held)).toEqual([
      'CREATE INDEX without CONCURRENTLY',
      'ALTER TABLE and an index build in one transaction',
    ]);
    expect(
      ddlBreaches('q(`ALTER TABLE a ADD COLUMN c int`); await createIndexConcurrently(q, "a_c", "a (c)");'),
    ).toEqual(['ALTER TABLE and an index build in one transaction']);
    expect(
      ddlBreaches(
        'transaction = false; q(`ALTER TABLE a ADD COLUMN c int`); createIndexConcurrently(q, "a_c", "a (c)")',
      ),
    ).toEqual([]);
  });

  it('reads neither comments nor the frozen feed-type migration as a breach', () => {
    expect(ddlBreaches('// CREATE INDEX x ON y (z) blocked writes\n/* ALTER TABLE */')).toEqual([]);
    const feedType = readFileSync(join(__dirname, '1765447200000-feed-type-index.ts'), 'utf8');
    expect(ddlBreaches(feedType)).toEqual([]);
  });
});
