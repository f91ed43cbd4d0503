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
});
