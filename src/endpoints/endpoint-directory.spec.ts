import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { EndpointDirectory } from './endpoint-directory';
import type { EndpointEntity } from './endpoint.entity';
import type { EndpointsRepository } from './endpoints.repository';
import { endpointRow } from '../testing/fakes';
import { generateSecret, SecretCipher } from './secrets/secret-cipher';

const KEY_A = 'a'.repeat(40);
const KEY_B = 'b'.repeat(40);
const NOW = new Date('2026-03-01T12:00:00Z');

/** The rows the directory reads, changed by the spec between reads. */
class FakeEndpoints {
  rows = new Map<string, EndpointEntity>();

  async findAll(): Promise<EndpointEntity[]> {
    return [...this.rows.values()];
  }

  async findById(id: string): Promise<EndpointEntity | null> {
    return this.rows.get(id) ?? null;
  }

  async findByIds(ids: string[]): Promise<EndpointEntity[]> {
    return ids.flatMap((id) => this.rows.get(id) ?? []);
  }
}

const row = (id: string, cipher: SecretCipher, secret?: string): EndpointEntity =>
  endpointRow(id, '1f2e3d4c-5b6a-4789-8a0b-1c2d3e4f5a6b', cipher, NOW, secret);

function setUp() {
  const endpoints = new FakeEndpoints();
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const registry = new Registry();
  const directory = new EndpointDirectory(
    endpoints as unknown as EndpointsRepository,
    new SecretCipher([KEY_B]),
    pino({ level: 'warn' }, sink),
    registry,
  );
  const warnings = (id: string) => lines.filter((line) => line.level === 40 && line.endpointId === id);
  const counted = async () => {
    const metric = await registry.getSingleMetric('hookstream_endpoints_unreadable_total')?.get();
    return metric?.values[0]?.value;
  };
  return { endpoints, directory, warnings, counted };
}

describe('EndpointDirectory', () => {
  it('loads every endpoint although one secret was encrypted with a key no longer configured', async () => {
    const { endpoints, directory } = setUp();
    const goodSecret = generateSecret();
    endpoints.rows.set('good', row('good', new SecretCipher([KEY_B]), goodSecret));
    endpoints.rows.set('old', row('old', new SecretCipher([KEY_A])));

    const snapshots = await directory.listAllForCache(NOW);

    expect(snapshots.map((snapshot) => [snapshot.id, snapshot.secrets, snapshot.problem])).toEqual([
      ['good', [goodSecret], null],
      ['old', [], expect.stringContaining(`key ${new SecretCipher([KEY_A]).currentKeyId}`)],
    ]);
    expect(snapshots[1]).toMatchObject({ enabled: true, eventTypes: ['*'], secretExpiries: [] });
  });

  it('gives a snapshot with a problem for a row it cannot read at all', async () => {
    const { endpoints, directory } = setUp();
    endpoints.rows.set('broken', {
      ...row('broken', new SecretCipher([KEY_B])),
      secrets: 'garbage' as never,
    });
    const snapshot = await directory.findForCache('broken', null, NOW);
    expect(snapshot).toMatchObject({
      id: 'broken',
      secrets: [],
      problem: expect.stringMatching(/cannot be read/),
    });
  });

  it('warns and counts once when an endpoint is first found unreadable, not on every reload', async () => {
    const { endpoints, directory, warnings, counted } = setUp();
    endpoints.rows.set('old', row('old', new SecretCipher([KEY_A])));

    await directory.listAllForCache(NOW);
    await directory.listAllForCache(NOW);
    await directory.findForCache('old', null, NOW);

    expect(warnings('old')).toHaveLength(1);
    expect(warnings('old')[0]).toMatchObject({ problem: expect.stringContaining('secrets:reencrypt') });
    expect(await counted()).toBe(1);
  });

  it('warns again when an endpoint fixed since becomes unreadable once more', async () => {
    const { endpoints, directory, warnings, counted } = setUp();
    endpoints.rows.set('e', row('e', new SecretCipher([KEY_A])));
    await directory.listAllForCache(NOW);

    endpoints.rows.set('e', row('e', new SecretCipher([KEY_B])));
    await directory.findForCache('e', null, NOW);
    expect(warnings('e')).toHaveLength(1);

    endpoints.rows.set('e', row('e', new SecretCipher([KEY_A])));
    await directory.listAllForCache(NOW);
    expect(warnings('e')).toHaveLength(2);
    expect(await counted()).toBe(2);
  });

  it('forgets a deleted endpoint, so one created again under that id is warned about anew', async () => {
    const { endpoints, directory, warnings } = setUp();
    endpoints.rows.set('a', row('a', new SecretCipher([KEY_A])));
    endpoints.rows.set('b', row('b', new SecretCipher([KEY_A])));
    await directory.listAllForCache(NOW);

    endpoints.rows.delete('a');
    await directory.listAllForCache(NOW);
    endpoints.rows.delete('b');
    expect(await directory.findForCache('b', null, NOW)).toBeNull();

    endpoints.rows.set('a', row('a', new SecretCipher([KEY_A])));
    endpoints.rows.set('b', row('b', new SecretCipher([KEY_A])));
    await directory.listAllForCache(NOW);
    expect(warnings('a')).toHaveLength(2);
    expect(warnings('b')).toHaveLength(2);
  });

  it('reads several endpoints at once as one at a time: a snapshot each found, warned about once, a deleted one forgotten', async () => {
    const { endpoints, directory, warnings } = setUp();
    endpoints.rows.set('good', row('good', new SecretCipher([KEY_B])));
    endpoints.rows.set('old', row('old', new SecretCipher([KEY_A])));
    endpoints.rows.set('gone', row('gone', new SecretCipher([KEY_A])));
    await directory.findManyForCache(['good', 'old', 'gone'], null, NOW);
    endpoints.rows.delete('gone');

    const snapshots = await directory.findManyForCache(['good', 'old', 'gone'], null, NOW);
    expect(snapshots.map((snapshot) => [snapshot.id, snapshot.problem === null])).toEqual([
      ['good', true],
      ['old', false],
    ]);
    expect(warnings('old')).toHaveLength(1);
    endpoints.rows.set('gone', row('gone', new SecretCipher([KEY_A])));
    await directory.findManyForCache(['gone'], null, NOW);
    expect(warnings('gone')).toHaveLength(2);
  });
});
